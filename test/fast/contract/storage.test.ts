import { afterAll, setDefaultTimeout } from "bun:test";
import { storageContract } from "../../contract/storage";
import { cleanup } from "../../helpers/cleanup";
import { inProcess } from "../../helpers/target";
import { TEST_MS } from "../../helpers/wait";

afterAll(cleanup);
setDefaultTimeout(TEST_MS);
storageContract(inProcess);
