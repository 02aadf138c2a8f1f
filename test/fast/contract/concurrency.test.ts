import { afterAll } from "bun:test";
import { concurrencyContract } from "../../contract/concurrency";
import { cleanup } from "../../helpers/cleanup";
import { inProcess } from "../../helpers/target";

afterAll(cleanup);
concurrencyContract(inProcess);
