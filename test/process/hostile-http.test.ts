/**
 * Hostile clients at the byte level, which only a real server on a socket
 * sees: a seeded fuzz run of malformed requests, request targets that fetch
 * would normalise, short or missing Host headers, HTTP/1.0, and bodies sent
 * chunked. (The aimed refusals that a fetch can send are in
 * test/contract/refusals.ts, and run in both tiers.)
 *
 * Every refusal must be a 4xx with the contract's `{code, message}` body, and
 * must leave the disk as it was. Replay a fuzz failure with the seed it prints:
 *   FUZZ_SEED=<seed> bun test test/process/hostile-http.test.ts
 * (FUZZ_COUNT changes the number of generated requests.)
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { cleanup } from "../helpers/cleanup";
import { describeCase, EVENT, generateCases, SEEDED, seedFrom } from "../helpers/fuzz";
import { json, problemWithRefusal, rawRequest, type RawRequest } from "../helpers/raw-http";
import { request, startServer, type TestServer } from "../helpers/server";
import { fileTree, treeChanges } from "../helpers/shards";
import { TEST_MS, waitFor } from "../helpers/wait";

afterAll(cleanup);
setDefaultTimeout(TEST_MS);

/** The root's parent: a temporary directory of its own, holding the root. */
const parentOf = (server: TestServer) => join(server.root, "..");

function expectUnchangedSince(server: TestServer, before: string[]) {
  expect(treeChanges(before, fileTree(parentOf(server)))).toEqual({ added: [], removed: [] });
}

const alive = (server: TestServer) => server.proc.exitCode === null && server.proc.signalCode === null;

// ---------------------------------------------------------------------------
// 1. The fuzz run.
// ---------------------------------------------------------------------------

describe("a seeded fuzz run of malformed requests", () => {
  const seed = seedFrom("FUZZ_SEED");
  // The generator draws each request from some thirty kinds of defect (damaged
  // bytes, wrong shapes and types, bad times and websites, odd URLs, wrong
  // methods); 600 draws give the rarest kind (1 in 100) six tries a run, and
  // the seed changes every run, so coverage grows across runs. More requests
  // only repeat the same kinds: FUZZ_COUNT asks for them.
  const count = Number(process.env.FUZZ_COUNT ?? 600);
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer();
  });

  test(`${count} requests: each a 4xx {code, message}, nothing written, the service still up (FUZZ_SEED=${seed})`, async () => {
    const replay = `FUZZ_SEED=${seed} (replay: FUZZ_SEED=${seed} bun test test/process/hostile-http.test.ts)`;
    console.log(`fuzz: ${replay}, ${count} requests`);

    // A small valid data set, in two months and three websites.
    const seedRequests: [string, unknown][] = [
      [`/${SEEDED[0]}`, EVENT],
      [
        `/${SEEDED[0]}/bulk`,
        {
          list: [
            { ...EVENT, ip: "10.0.0.2" },
            { ...EVENT, time: "2015-12-02T08:00:00Z" },
          ],
        },
      ],
      [`/${SEEDED[1]}/bulk`, { list: [EVENT, EVENT, { ...EVENT, event: "view" }] }],
      [
        "/bulk",
        {
          list: [
            { ...EVENT, website: SEEDED[2] },
            { ...EVENT, website: SEEDED[1], time: "2015-10-31T23:59:59Z" },
          ],
        },
      ],
    ];
    for (const [path, body] of seedRequests) expect((await request(`${server.url}${path}`, { body })).status).toBe(200);
    const snapshot = async () => {
      const sites: Record<string, unknown> = {};
      for (const site of SEEDED) {
        const count = await request(`${server.url}/${site}/count`);
        const list = await request(`${server.url}/${site}`);
        sites[site] = { count: [count.status, count.body], list: [list.status, list.body] };
      }
      return sites;
    };
    const dataBefore = await snapshot();
    expect(dataBefore).toMatchObject({
      [SEEDED[0]!]: { count: [200, { total: 3, unique: 2 }] },
      [SEEDED[1]!]: { count: [200, { total: 4, unique: 1 }] },
      [SEEDED[2]!]: { count: [200, { total: 1, unique: 1 }] },
    });
    const treeBefore = fileTree(parentOf(server));
    const outputBefore = server.output().length;

    const started = performance.now();
    const cases = generateCases(seed, count);
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const index = next++;
        const c = cases[index]!;
        const answer = await rawRequest(server.url, { method: c.method, path: c.path, headers: c.headers, body: c.body, chunked: c.chunked });
        const problem = problemWithRefusal(answer);
        if (problem) failures.push(`${describeCase(index, c)}\n    → ${problem}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    console.log(`fuzz: ${cases.length} requests in ${Math.round(performance.now() - started)} ms, ${failures.length} wrong answers`);

    const problems: string[] = [];
    if (failures.length > 0) {
      problems.push(`${failures.length} of ${cases.length} answers were not a 4xx {code, message}:\n  ${failures.slice(0, 15).join("\n  ")}`);
    }
    if (!alive(server)) problems.push(`the service died during the run; its output:\n${server.output().slice(-3000)}`);
    else {
      const welcome = await rawRequest(server.url, { method: "GET", path: "/" });
      if (welcome.status !== 200 || json(welcome)?.message !== "Welcome to micro-analytics!") {
        problems.push(`GET / after the run answered ${welcome.status} ${welcome.text.slice(0, 200)} ${welcome.dropped ?? ""}`);
      }
      const changes = treeChanges(treeBefore, fileTree(parentOf(server)));
      if (changes.added.length + changes.removed.length > 0) {
        problems.push(
          `the disk changed: added ${JSON.stringify(changes.added.slice(0, 20))}, removed ${JSON.stringify(changes.removed.slice(0, 20))}`,
        );
      }
      const dataAfter = await snapshot();
      if (JSON.stringify(dataAfter) !== JSON.stringify(dataBefore)) {
        problems.push(
          `stored events changed:\n  before ${JSON.stringify(dataBefore).slice(0, 1500)}\n  after  ${JSON.stringify(dataAfter).slice(0, 1500)}`,
        );
      }
      const logged = server.output().slice(outputBefore);
      const faults = logged.split("\n").filter((line) => /\bERROR\b|"level":"error"|TypeError|RangeError|Unhandled|uncaught/i.test(line));
      if (faults.length > 0) problems.push(`the service logged faults:\n  ${faults.slice(0, 10).join("\n  ")}`);
    }
    if (problems.length > 0) throw new Error(`fuzz run failed with ${replay}:\n${problems.join("\n")}`);
  }, 30_000);
});

// ---------------------------------------------------------------------------
// 2. What fetch would not send as it is.
// ---------------------------------------------------------------------------

describe("request targets and bodies as raw bytes", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ args: ["--max-body-size", "2048"] });
  });

  test("a website segment of /%2e%2e is 400 InvalidWebsiteName on every route, and nothing is created", async () => {
    const before = fileTree(parentOf(server));
    for (const [method, path, body] of [
      ["POST", "/%2e%2e", JSON.stringify(EVENT)],
      ["POST", "/%2e%2e/bulk", JSON.stringify({ list: [EVENT] })],
      ["GET", "/%2e%2e", undefined],
      ["GET", "/%2e%2e/count", undefined],
      ["DELETE", "/%2e%2e", undefined],
    ] as const) {
      const answer = await rawRequest(server.url, { method, path, headers: { "Content-Type": "application/json" }, body });
      expect({ request: `${method} ${path}`, problem: problemWithRefusal(answer), status: answer.status, code: json(answer).code }).toEqual({
        request: `${method} ${path}`,
        problem: undefined,
        status: 400,
        code: "InvalidWebsiteName",
      });
    }
    expectUnchangedSince(server, before);
  });

  /** A valid single event whose JSON is exactly `bytes` long (padded with whitespace, so no field is long). */
  const eventOfSize = (bytes: number) => {
    const event = JSON.stringify(EVENT);
    return event.slice(0, -1) + " ".repeat(bytes - event.length) + "}";
  };
  const post = (site: string, body: string, chunked: number): RawRequest => ({
    method: "POST",
    path: `/${site}`,
    headers: { "Content-Type": "application/json" },
    body,
    chunked,
  });

  test("a body over --max-body-size sent chunked, without Content-Length, is 413 PayloadTooLarge naming the flag, and writes nothing", async () => {
    const before = fileTree(parentOf(server));
    const answer = await rawRequest(server.url, post("chunked-over.example", eventOfSize(3000), 500));
    expect(problemWithRefusal(answer)).toBeUndefined();
    expect({ status: answer.status, code: json(answer).code }).toEqual({ status: 413, code: "PayloadTooLarge" });
    expect(json(answer).message).toContain("--max-body-size");
    expectUnchangedSince(server, before);
  });

  test("a body exactly at --max-body-size sent chunked is stored", async () => {
    const answer = await rawRequest(server.url, post("chunked-at.example", eventOfSize(2048), 300));
    expect({ status: answer.status, body: json(answer) }).toEqual({ status: 200, body: { inserted: 1 } });
  });
});

// ---------------------------------------------------------------------------
// 3. Hostile heads.
// ---------------------------------------------------------------------------

describe("hostile HTTP heads", () => {
  // The router finds the path by assuming a host of at least four characters;
  // the service refuses requests whose Host is shorter (or missing) rather than
  // let `/ab/victim` reach `/victim`.
  const REFUSED = { status: 400, code: "InvalidRequest" };
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });

  test("a short Host header cannot change the route a path reaches: it is refused", async () => {
    expect((await request(`${server.url}/victim`, { body: EVENT })).status).toBe(200);
    const before = fileTree(parentOf(server));
    // Host "x" makes "http://x/ab/victim", which a careless router reads as DELETE /victim.
    const del = await rawRequest(server.url, { method: "DELETE", path: "/ab/victim", host: "x" });
    expect({ status: del.status, code: json(del).code }).toEqual(REFUSED);
    const write = await rawRequest(server.url, {
      method: "POST",
      path: "/ab/victim",
      host: "x",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(EVENT),
    });
    expect({ status: write.status, code: json(write).code }).toEqual(REFUSED);
    expectUnchangedSince(server, before);
    expect((await request(`${server.url}/victim/count`)).body).toEqual({ total: 1, unique: 1 });
  });

  test("an empty Host header gets a JSON 400, never a 5xx", async () => {
    const answer = await rawRequest(server.url, { method: "GET", path: "/nobody.example/count", host: "" });
    expect(problemWithRefusal(answer)).toBeUndefined();
    expect({ status: answer.status, code: json(answer).code }).toEqual(REFUSED);
  });

  describe("HTTP/1.0 without a Host header (on a server of its own: a fault after the answer would take the process down)", () => {
    let own: TestServer;
    beforeAll(async () => {
      own = await startServer();
    });

    test("is refused with JSON, and the service stays up", async () => {
      const from = own.output().length;
      const welcome = await rawRequest(own.url, { method: "GET", path: "/", host: null, version: "HTTP/1.0" });
      expect({ status: welcome.status, code: json(welcome).code }).toEqual(REFUSED);
      // A fault would come after the answer, where the request is logged: wait for that line (or the fault).
      await waitForLogOrFault(own, from, /GET \/ 400 /);
      expect({ alive: alive(own), faults: faultsIn(own.output().slice(from)) }).toEqual({ alive: true, faults: [] });
      expect((await request(`${own.url}/`)).body.message).toBe("Welcome to micro-analytics!");
    });

    test("with a bad body is a 4xx {code, message} and writes nothing", async () => {
      const from = own.output().length;
      const bad = await rawRequest(own.url, {
        method: "POST",
        path: "/nohost.example",
        host: null,
        version: "HTTP/1.0",
        headers: { "Content-Type": "application/json" },
        body: "{",
      });
      expect({ problem: problemWithRefusal(bad), code: json(bad).code }).toEqual({ problem: undefined, code: "InvalidRequest" });
      await waitForLogOrFault(own, from, /POST \/nohost\.example 400 /);
      expect({ alive: alive(own), faults: faultsIn(own.output().slice(from)) }).toEqual({ alive: true, faults: [] });
      expect((await request(`${own.url}/nohost.example/count`)).status).toBe(404);
    });
  });
});

const faultsIn = (output: string) => output.split("\n").filter((line) => /TypeError|RangeError|Unhandled|uncaught|\bERROR\b/.test(line));

/** Until the request's log line is out, the process has died, or it reported a fault. */
async function waitForLogOrFault(server: TestServer, from: number, line: RegExp) {
  await waitFor(`${line} in the log, or a fault`, () => {
    const output = server.output().slice(from);
    return line.test(output) || !alive(server) || faultsIn(output).length > 0;
  });
}
