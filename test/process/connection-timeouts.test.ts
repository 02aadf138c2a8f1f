/**
 * Connections time out: a keep-alive connection that made a query is closed
 * after --keepalive-timeout like any other (a query lifts the timeout only
 * while it computes), one waiting for an erasure that takes longer is not,
 * and a client that starts a large download and reads nothing is cut off
 * after --send-timeout, after which the service serves others as before.
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { writeOriginalShard, type VisitRow } from "../helpers/files";
import { request, startServer, tempDir, type TestServer } from "../helpers/server";
import { TEST_MS, waitFor } from "../helpers/wait";

setDefaultTimeout(TEST_MS);

const EVENT = { time: "2015-11-24T13:00:00Z", event: "view", path: "/", ip: "10.0.0.1" };

/**
 * Bun checks idle timers about every 4 s, so a 1 s timeout closes within about
 * 5 s. The bound leaves a loaded machine room and stays far below the 30 s
 * the connections would otherwise stay open (Elysia's default).
 */
const CLOSED_WITHIN_MS = 20_000;

interface KeptAlive {
  socket: Socket;
  /** Everything received so far. */
  received(): string;
  closed(): boolean;
}

/** A raw keep-alive connection that sends `paths` one after another, each once the previous answer is complete. */
function keepAlive(url: string): KeptAlive {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let text = "";
  let closed = false;
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => (text += chunk));
  socket.on("close", () => (closed = true));
  socket.on("error", () => (closed = true));
  return { socket, received: () => text, closed: () => closed };
}

function ask(connection: KeptAlive, url: string, path: string): void {
  const { host } = new URL(url);
  connection.socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
}

/** The number of answers begun: one answer's body runs straight into the next one's status line. */
function answers(text: string): number {
  return (text.match(/HTTP\/1\.1 \d{3} /g) ?? []).length;
}

/** Whether the last answer is complete: a JSON body's end, or a chunked body's last chunk. */
function complete(text: string): boolean {
  return /\r\n\r\n.*([}\]]|\r\n0\r\n\r\n)$/s.test(text);
}

/** The big answer's website, for the stalled download. */
const SITE = "big.example";
/** An answer (about 26 MB) that cannot all sit in socket buffers, from few rows: the service's start reads them all. */
const ROWS = 25_000;
const PATH_LENGTH = 1000;
/** Each row's path alone is over PATH_LENGTH characters: the whole answer is longer than this. */
const WHOLE_AT_LEAST = ROWS * PATH_LENGTH;

/** A server whose one website's event list is WHOLE_AT_LEAST long, from few rows. */
function stalledDownloadServer(): Promise<TestServer> {
  const root = join(tempDir(), "dbs");
  const base = Date.UTC(2015, 10, 1) / 1000;
  const rows: VisitRow[] = Array.from({ length: ROWS }, (_, i) => ({
    time: base + i,
    event: "view",
    path: `/articles/${i}/${"x".repeat(PATH_LENGTH)}`,
    ip: `10.0.${(i >> 8) & 255}.${i & 255}`,
    platform: "Linux",
    refererDomain: "example.org",
    countryCode: "",
  }));
  writeOriginalShard(root, SITE, "2015-11", rows);
  return startServer({ root, args: ["--send-timeout", "1", "--keepalive-timeout", "60"] });
}

/**
 * Every test here waits for a timeout to be seen to, which takes seconds of
 * waiting and little work: all of them run at once, each server's tests
 * beside the other's, so the file waits about as long as its longest test.
 */
let keepaliveServer: TestServer;
let sendServer: TestServer;
beforeAll(async () => {
  [keepaliveServer, sendServer] = await Promise.all([startServer({ args: ["--keepalive-timeout", "1"] }), stalledDownloadServer()]);
  expect((await request(`${keepaliveServer.url}/kept.example`, { body: EVENT })).status).toBe(200);
}, 60_000);
afterAll(() => Promise.all([keepaliveServer.stop(), sendServer.stop()]));

const cases: [string, string[], RegExp][] = [
  ["a connection that asked GET /", ["/"], /^HTTP\/1\.1 200/],
  ["a connection that made a query", ["/kept.example/count"], /"total":1/],
  ["a connection that made a query refused with a 400", ["/kept.example/count?start=garbage"], /^HTTP\/1\.1 400/],
  ["a connection that made two queries and a breakdown", ["/kept.example/count", "/kept.example/events", "/kept.example/time"], /"list":\[/],
  ["a connection that read the event list", ["/kept.example"], /"list":\[/],
];
// Each case is its own connection, and all of them wait on the same idle timer: together they wait once.
for (const [label, paths, expected] of cases) {
  test.concurrent(`--keepalive-timeout 1: ${label} is closed by the server once idle`, async () => {
    const connection = keepAlive(keepaliveServer.url);
    try {
      for (let i = 0; i < paths.length; i++) {
        ask(connection, keepaliveServer.url, paths[i]!);
        await waitFor(`answer ${i + 1} to ${paths[i]}`, () => answers(connection.received()) === i + 1 && complete(connection.received()));
      }
      expect(connection.received()).toMatch(expected);
      expect(connection.closed()).toBe(false);
      await waitFor("the server to close the idle connection", () => connection.closed(), CLOSED_WITHIN_MS);
    } finally {
      connection.socket.destroy();
    }
  }, CLOSED_WITHIN_MS + 10_000);
}

/**
 * The erasure is made to outlast a check of the idle timer (a 1 s timeout
 * closes within about 5 s): each month's deletion waits for the write lock
 * the test holds, and SQLite waits 5 s for a lock, so each is given back
 * 3.5 s after the last. It waits beside the cases above.
 */
const LOCK_MS = 3_500;
test.concurrent("--keepalive-timeout 1: a connection waiting for an erasure longer than the timeout is not closed as idle, and gets the answer", async () => {
  const list = [
    { time: "2015-11-24T13:00:00Z", ip: "8.8.8.8" },
    { time: "2015-12-02T10:00:00Z", ip: "8.8.8.8" },
  ];
  expect((await request(`${keepaliveServer.url}/erased.example/bulk`, { body: { list } })).body).toEqual({ inserted: 2 });
  const locks = ["2015-11", "2015-12"].map((month) => {
    const db = new Database(join(keepaliveServer.root, "erased.example", month, "analytics.db"));
    db.run("BEGIN IMMEDIATE");
    return db;
  });
  try {
    const started = performance.now();
    const erasing = fetch(`${keepaliveServer.url}/erased.example/visitors/8.8.8.8`, { method: "DELETE" });
    for (const db of locks) {
      await Bun.sleep(LOCK_MS);
      db.run("ROLLBACK");
    }
    const answer = await erasing;
    expect(await answer.json()).toEqual({ removed: 2 });
    expect(performance.now() - started).toBeGreaterThan(2 * LOCK_MS);
  } finally {
    for (const db of locks) db.close();
  }
  // A connection closed under it would have been sent again by fetch, and answered {"removed":0}.
  const erasure = "DELETE /erased.example/visitors/… 200";
  expect((await keepaliveServer.waitForOutput(erasure)).split(erasure)).toHaveLength(2);
}, 2 * LOCK_MS + 10_000);

// No test reads the whole answer here: under load, a reader can fall more than a second behind, and be cut off too.
test.concurrent("--send-timeout 1: a download nobody reads is cut off, its stream ends, and the service then serves others normally", async () => {
  const { hostname, port, host } = new URL(sendServer.url);
  const start = sendServer.output().length;
  const socket = connect(Number(port), hostname);
  let received = 0;
  let closed = false;
  socket.on("data", (chunk: Buffer) => (received += chunk.length));
  socket.on("close", () => (closed = true));
  socket.on("error", () => (closed = true));
  try {
    await new Promise<void>((resolve) => socket.once("connect", resolve));
    // Read nothing: the kernel's buffers fill and the server cannot send more.
    socket.pause();
    socket.write(`GET /${SITE} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);

    // The request log writes a streamed answer's line when its stream ends, with the bytes it sent:
    // without the cut, the stream would wait on this client for good.
    const line = await waitFor(
      "the stalled download's request line",
      () => sendServer.output().slice(start).split("\n").find((l) => l.includes(`GET /${SITE} 200 `)),
      CLOSED_WITHIN_MS,
    );
    const sent = Number(/bytes=(\d+)/.exec(line)?.[1]);
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(WHOLE_AT_LEAST);

    // What the kernel held reaches the client, then the connection is gone.
    socket.resume();
    await waitFor("the cut connection to close", () => closed, CLOSED_WITHIN_MS);
    expect(received).toBeLessThan(WHOLE_AT_LEAST);
  } finally {
    socket.destroy();
  }

  const count = await request(`${sendServer.url}/${SITE}/count`);
  expect({ status: count.status, total: count.body.total }).toEqual({ status: 200, total: ROWS });
  // A page of the same list, to a client that reads it.
  const page = await request(`${sendServer.url}/${SITE}?limit=1000`);
  expect(page.status).toBe(200);
  expect(page.body.list).toHaveLength(1000);
}, 2 * CLOSED_WITHIN_MS + 10_000);
