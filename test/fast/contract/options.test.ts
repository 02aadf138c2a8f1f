import { afterAll } from "bun:test";
import { optionsContract } from "../../contract/options";
import { cleanup } from "../../helpers/cleanup";
import { inProcess } from "../../helpers/target";

afterAll(cleanup);
optionsContract(inProcess);
