/**
 * The whole contract (test/contract/) against the compiled binary, the thing
 * that ships, over real HTTP on loopback: the same tests the fast tier runs in
 * process. MA_TEST_SERVER=sources runs them against `bun src/main.ts` instead.
 */
import { afterAll, describe, setDefaultTimeout } from "bun:test";
import { CONTRACT } from "../contract";
import { cleanup } from "../helpers/cleanup";
import { overHttp } from "../helpers/target";
import { TEST_MS } from "../helpers/wait";

afterAll(cleanup);
setDefaultTimeout(TEST_MS);
for (const [area, suite] of Object.entries(CONTRACT)) describe(area, () => suite(overHttp));
