import { afterAll } from "bun:test";
import { uniqueContract } from "../../contract/unique";
import { cleanup } from "../../helpers/cleanup";
import { inProcess } from "../../helpers/target";

afterAll(cleanup);
uniqueContract(inProcess);
