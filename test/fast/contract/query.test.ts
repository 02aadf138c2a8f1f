import { afterAll, setDefaultTimeout } from "bun:test";
import { queryContract } from "../../contract/query";
import { cleanup } from "../../helpers/cleanup";
import { inProcess } from "../../helpers/target";
import { TEST_MS } from "../../helpers/wait";

afterAll(cleanup);
setDefaultTimeout(TEST_MS);
queryContract(inProcess);
