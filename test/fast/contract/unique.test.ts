import { afterAll, setDefaultTimeout } from "bun:test";
import { uniqueContract } from "../../contract/unique";
import { cleanup } from "../../helpers/cleanup";
import { inProcess } from "../../helpers/target";
import { TEST_MS } from "../../helpers/wait";

afterAll(cleanup);
setDefaultTimeout(TEST_MS);
uniqueContract(inProcess);
