import { afterAll } from "bun:test";
import { poolContract } from "../../contract/pool";
import { cleanup } from "../../helpers/cleanup";
import { inProcess } from "../../helpers/target";

afterAll(cleanup);
poolContract(inProcess);
