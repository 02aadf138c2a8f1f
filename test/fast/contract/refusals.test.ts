import { afterAll } from "bun:test";
import { refusalsContract } from "../../contract/refusals";
import { cleanup } from "../../helpers/cleanup";
import { inProcess } from "../../helpers/target";

afterAll(cleanup);
refusalsContract(inProcess);
