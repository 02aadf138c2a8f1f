import { afterAll } from "bun:test";
import { authContract } from "../../contract/auth";
import { cleanup } from "../../helpers/cleanup";
import { inProcess } from "../../helpers/target";

afterAll(cleanup);
authContract(inProcess);
