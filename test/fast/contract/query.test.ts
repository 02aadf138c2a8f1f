import { afterAll } from "bun:test";
import { queryContract } from "../../contract/query";
import { cleanup } from "../../helpers/cleanup";
import { inProcess } from "../../helpers/target";

afterAll(cleanup);
queryContract(inProcess);
