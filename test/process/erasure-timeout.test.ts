/**
 * An erasure can take longer than --keepalive-timeout (each month is a scan
 * of its rows): the connection that asked for it is not closed as idle
 * while it runs, and gets its answer.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { cleanup } from "../helpers/cleanup";
import { request, startServer } from "../helpers/server";
import { TEST_MS } from "../helpers/wait";

setDefaultTimeout(TEST_MS);
afterAll(cleanup);

/**
 * Bun looks at idle timers about every 4 s, so a connection idle past a 1 s
 * timeout is closed within about 5 s. The erasure is made to last about 7 s:
 * each month's deletion waits for the write lock the test holds, and SQLite
 * waits 5 s for a lock, so each is given back 3.5 s after the last.
 */
const LOCK_MS = 3_500;

test("a connection waiting for an erasure longer than --keepalive-timeout is not closed as idle, and gets the answer", async () => {
  const server = await startServer({ args: ["--keepalive-timeout", "1"] });
  const list = [
    { time: "2015-11-24T13:00:00Z", ip: "8.8.8.8" },
    { time: "2015-12-02T10:00:00Z", ip: "8.8.8.8" },
  ];
  expect((await request(`${server.url}/site/bulk`, { body: { list } })).body).toEqual({ inserted: 2 });
  const locks = ["2015-11", "2015-12"].map((month) => {
    const db = new Database(join(server.root, "site", month, "analytics.db"));
    db.run("BEGIN IMMEDIATE");
    return db;
  });
  try {
    const started = performance.now();
    const erasing = fetch(`${server.url}/site/visitors/8.8.8.8`, { method: "DELETE" });
    for (const db of locks) {
      await Bun.sleep(LOCK_MS);
      db.run("ROLLBACK");
    }
    const answer = await erasing;
    expect(await answer.json()).toEqual({ removed: 2 });
    expect(performance.now() - started).toBeGreaterThan(2 * LOCK_MS);
  } finally {
    for (const db of locks) db.close();
    await server.stop();
  }
  // A connection closed under it would have been sent again by fetch, and answered {"removed":0}.
  expect(server.output().match(/DELETE \/site\/visitors\/… 200/g)).toHaveLength(1);
});
