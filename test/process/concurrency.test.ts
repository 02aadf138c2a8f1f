/** Writes under load (test/contract/concurrency.ts), against the compiled binary over HTTP. */
import { afterAll } from "bun:test";
import { concurrencyContract } from "../contract/concurrency";
import { cleanup } from "../helpers/cleanup";
import { overHttp } from "../helpers/target";

afterAll(cleanup);
concurrencyContract(overHttp);
