import { afterAll, setDefaultTimeout } from "bun:test";
import { ingestContract } from "../../contract/ingest";
import { cleanup } from "../../helpers/cleanup";
import { inProcess } from "../../helpers/target";
import { TEST_MS } from "../../helpers/wait";

afterAll(cleanup);
setDefaultTimeout(TEST_MS);
ingestContract(inProcess);
