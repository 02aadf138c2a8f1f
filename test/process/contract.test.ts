/**
 * The contract (test/contract/) against the compiled binary, the thing that
 * ships, over real HTTP on loopback. The fast tier runs every area in process,
 * through the same app; what only the binary can show is that it reads
 * requests from a socket and writes answers to one (bodies and their limits,
 * headers and credentials, streamed exports, every refusal's JSON), with its
 * bundled query worker and embedded GeoIP database. So the areas about the
 * requests run here too; those about what the service computes or keeps
 * (cache, unique, storage, options, pool) give the same answers whatever
 * carries the request, and run in process only. MA_TEST_SERVER=sources runs
 * them against `bun src/main.ts` instead.
 */
import { afterAll, describe, setDefaultTimeout } from "bun:test";
import { CONTRACT } from "../contract";
import { cleanup } from "../helpers/cleanup";
import { overHttp } from "../helpers/target";
import { TEST_MS } from "../helpers/wait";

const OVER_HTTP = ["ingest", "query", "export", "auth", "refusals", "monitoring"];

afterAll(cleanup);
setDefaultTimeout(TEST_MS);
for (const area of OVER_HTTP) describe(area, () => CONTRACT[area]!(overHttp));
