import { afterAll } from "bun:test";
import { cacheContract } from "../../contract/cache";
import { cleanup } from "../../helpers/cleanup";
import { inProcess } from "../../helpers/target";

afterAll(cleanup);
cacheContract(inProcess);
