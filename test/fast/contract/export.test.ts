import { afterAll } from "bun:test";
import { exportContract } from "../../contract/export";
import { cleanup } from "../../helpers/cleanup";
import { inProcess } from "../../helpers/target";

afterAll(cleanup);
exportContract(inProcess);
