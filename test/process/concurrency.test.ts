/** Writes under load (test/contract/concurrency.ts), against the compiled binary over HTTP. */
import { afterAll, setDefaultTimeout } from "bun:test";
import { concurrencyContract } from "../contract/concurrency";
import { cleanup } from "../helpers/cleanup";
import { overHttp } from "../helpers/target";
import { TEST_MS } from "../helpers/wait";

afterAll(cleanup);
setDefaultTimeout(TEST_MS);
concurrencyContract(overHttp);
