import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SUMMARY_FORMAT } from "../../src/store/summary-format";
import { request, startServer, tempDir, type TestServer } from "../helpers/server";

/**
 * Visitors over three months, some coming back: 10.0.0.1 in all three,
 * 10.0.0.2 in October and November, 10.0.0.3 only in December.
 */
const EVENTS = [
  { time: "2016-10-03T10:00:00Z", ip: "10.0.0.1", countryCode: "fr", event: "view" },
  { time: "2016-10-03T11:00:00Z", ip: "10.0.0.2", countryCode: "de", event: "view" },
  { time: "2016-10-20T11:00:00Z", ip: "10.0.0.1", countryCode: "fr", event: "click" },
  { time: "2016-11-05T09:00:00Z", ip: "10.0.0.1", countryCode: "fr", event: "view" },
  { time: "2016-11-05T09:30:00Z", ip: "10.0.0.2", countryCode: "de", event: "view" },
  { time: "2016-12-01T00:00:00Z", ip: "10.0.0.3", countryCode: "it", event: "view" },
  { time: "2016-12-24T23:59:59Z", ip: "10.0.0.1", countryCode: "fr", event: "view" },
];

let cacheDir: string;
let server: TestServer;
beforeAll(async () => {
  cacheDir = join(tempDir(), "cache");
  server = await startServer({ args: ["--cache-directory", cacheDir] });
  expect((await request(`${server.url}/site.example/bulk`, { body: { list: EVENTS } })).status).toBe(200);
});
afterAll(() => server.stop());

async function text(path: string): Promise<string> {
  const response = await fetch(`${server.url}${path}`);
  expect(response.status).toBe(200);
  return response.text();
}

async function metric(name: string): Promise<number> {
  const body = await text("/_metrics");
  return Number(new RegExp(`^micro_analytics_${name} (\\S+)$`, "m").exec(body)?.[1]);
}

const cacheFiles = (website: string) => {
  const dir = join(cacheDir, "3", website);
  return existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : [];
};

describe("answers across months, from month summaries", () => {
  test("whole months and cut months give exact unique visitors", async () => {
    expect(JSON.parse(await text("/site.example/count"))).toEqual({ total: 7, unique: 3 });
    // October and November whole, December cut after its first day.
    expect(JSON.parse(await text("/site.example/count?end=2016-12-01T23:59:59Z"))).toEqual({ total: 6, unique: 3 });
    expect(JSON.parse(await text("/site.example/countries?unique=true&start=2016-10-03T10:30:00Z"))).toEqual({
      list: [
        { id: "fr", label: "France", total: 3, unique: 1 },
        { id: "de", label: "Germany", total: 2, unique: 1 },
        { id: "it", label: "Italy", total: 1, unique: 1 },
      ],
    });
  });

  test("daily, weekly and 30-day series agree with the events", async () => {
    const daily = JSON.parse(await text("/site.example/time?unique=true")).list;
    expect(daily).toEqual([
      { start: "2016-10-03T00:00:00Z", end: "2016-10-04T00:00:00Z", total: 2, unique: 2 },
      { start: "2016-10-20T00:00:00Z", end: "2016-10-21T00:00:00Z", total: 1, unique: 1 },
      { start: "2016-11-05T00:00:00Z", end: "2016-11-06T00:00:00Z", total: 2, unique: 2 },
      { start: "2016-12-01T00:00:00Z", end: "2016-12-02T00:00:00Z", total: 1, unique: 1 },
      { start: "2016-12-24T00:00:00Z", end: "2016-12-25T00:00:00Z", total: 1, unique: 1 },
    ]);
    // 30-day buckets from the epoch start on 2016-09-26, 10-26 and 11-25: each of the
    // last two spans a month boundary, so its visitors come from two summaries.
    const monthly = JSON.parse(await text("/site.example/time?unique=true&interval=2592000")).list;
    expect(monthly).toEqual([
      { start: "2016-09-26T00:00:00Z", end: "2016-10-26T00:00:00Z", total: 3, unique: 2 },
      { start: "2016-10-26T00:00:00Z", end: "2016-11-25T00:00:00Z", total: 2, unique: 2 },
      { start: "2016-11-25T00:00:00Z", end: "2016-12-25T00:00:00Z", total: 2, unique: 2 },
    ]);
    const hourly = JSON.parse(await text("/site.example/time?interval=3600&start=2016-11-05T00:00:00Z&end=2016-11-05T23:59:59Z")).list;
    expect(hourly).toEqual([{ start: "2016-11-05T09:00:00Z", end: "2016-11-05T10:00:00Z", total: 2, unique: 0 }]);
  });

  test("each month gets a summary file beside its shard", () => {
    for (const month of ["2016-10", "2016-11", "2016-12"]) {
      expect(existsSync(join(server.root, "site.example", month, "summary.db"))).toBe(true);
    }
  });

  test("a garbled summary is rebuilt and the answer stays right", async () => {
    const summary = join(server.root, "site.example", "2016-11", "summary.db");
    writeFileSync(summary, "not a database at all");
    expect(JSON.parse(await text("/site.example/count?start=2016-11-01T00:00:00Z&end=2016-11-30T23:59:59Z"))).toEqual({ total: 2, unique: 2 });
    expect(statSync(summary).size).toBeGreaterThan(100);
  });

  test("after a start, summaries are built without waiting for a query", async () => {
    const root = join(tempDir(), "dbs");
    const first = await startServer({ root });
    expect((await request(`${first.url}/built.example/bulk`, { body: { list: EVENTS } })).status).toBe(200);
    await first.stop();
    const summaries = ["2016-10", "2016-11", "2016-12"].map((month) => join(root, "built.example", month, "summary.db"));
    expect(summaries.filter((path) => existsSync(path))).toEqual([]);

    const second = await startServer({ root });
    try {
      for (let waited = 0; waited < 4_000 && !summaries.every((path) => existsSync(path)); waited += 50) await Bun.sleep(50);
      expect(summaries.filter((path) => !existsSync(path))).toEqual([]);
      expect((await request(`${second.url}/built.example/count`)).body).toEqual({ total: 7, unique: 3 });
    } finally {
      await second.stop();
    }
  });

  test("a summary of another format is rebuilt", async () => {
    const summary = join(server.root, "site.example", "2016-12", "summary.db");
    rmSync(summary);
    const old = new Database(summary);
    old.run("CREATE TABLE visitors (dim INTEGER, value TEXT, ip TEXT, hits INTEGER)");
    old.run("INSERT INTO visitors VALUES (0, '', '10.9.9.9', 1000)");
    old.close();
    expect(JSON.parse(await text("/site.example/count?start=2016-12-01T00:00:00Z&end=2016-12-31T23:59:59Z"))).toEqual({ total: 2, unique: 2 });
    const rebuilt = new Database(summary, { readonly: true });
    expect(rebuilt.query("PRAGMA user_version").get()).toEqual({ user_version: SUMMARY_FORMAT });
    rebuilt.close();
  });

  test("a summary made from another shard file is not used for the one now there", async () => {
    const root = join(tempDir(), "dbs");
    const month = join(root, "swap.example", "2016-10");
    const first = await startServer({ root });
    expect((await request(`${first.url}/swap.example/bulk`, { body: { list: EVENTS.slice(0, 2) } })).status).toBe(200);
    await first.stop();
    // The shard as it was, then two more events in the month and a summary that counts them.
    copyFileSync(join(month, "analytics.db"), join(root, "earlier.db"));
    const second = await startServer({ root });
    try {
      expect((await request(`${second.url}/swap.example/bulk`, { body: { list: EVENTS.slice(2, 3) } })).status).toBe(200);
      expect((await request(`${second.url}/swap.example`, { body: { ...EVENTS[2], ip: "10.0.0.8" } })).status).toBe(200);
      expect((await request(`${second.url}/swap.example/count`)).body).toEqual({ total: 4, unique: 3 });
    } finally {
      await second.stop();
    }
    // The earlier file put back (a restore), beside the newer summary.
    for (const suffix of ["-wal", "-shm"]) rmSync(join(month, `analytics.db${suffix}`), { force: true });
    rmSync(join(month, "analytics.db"));
    copyFileSync(join(root, "earlier.db"), join(month, "analytics.db"));
    rmSync(join(root, "earlier.db"));
    const third = await startServer({ root });
    try {
      expect((await request(`${third.url}/swap.example/count`)).body).toEqual({ total: 2, unique: 2 });
      expect((await request(`${third.url}/swap.example/events?unique=true`)).body.list).toEqual([{ id: "view", label: "view", total: 2, unique: 2 }]);
    } finally {
      await third.stop();
    }
  });
});

describe("the result cache", () => {
  test("a hit answers the same bytes as the miss before it, and is counted", async () => {
    const path = "/site.example/events?unique=true&start=2016-10-01T00:00:00Z";
    const missesBefore = await metric("cache_misses_total");
    const first = await text(path);
    const hitsBefore = await metric("cache_hits_total");
    const second = await text(path);
    expect(second).toBe(first);
    expect(await metric("cache_hits_total")).toBe(hitsBefore + 1);
    expect(await metric("cache_misses_total")).toBe(missesBefore + 1);
    expect(cacheFiles("site.example").length).toBeGreaterThan(0);
  });

  test("a backfill into a closed month changes the next answer", async () => {
    const path = "/site.example/countries?unique=true&end=2016-10-31T23:59:59Z";
    const before = JSON.parse(await text(path));
    expect(before.list).toEqual([
      { id: "fr", label: "France", total: 2, unique: 1 },
      { id: "de", label: "Germany", total: 1, unique: 1 },
    ]);
    const late = { time: "2016-10-15T12:00:00Z", ip: "10.0.0.9", countryCode: "de", event: "view" };
    expect((await request(`${server.url}/site.example`, { body: late })).status).toBe(200);
    expect(JSON.parse(await text(path)).list).toEqual([
      { id: "de", label: "Germany", total: 2, unique: 2 },
      { id: "fr", label: "France", total: 2, unique: 1 },
    ]);
  });

  test("cache files removed or garbled between two queries change nothing in the answer", async () => {
    const path = "/site.example/platforms?unique=true";
    const first = await text(path);
    for (const file of cacheFiles("site.example")) rmSync(file);
    expect(await text(path)).toBe(first);
    for (const file of cacheFiles("site.example")) writeFileSync(file, '{"key": "garbage", "body": "[1,2');
    expect(await text(path)).toBe(first);
    rmSync(join(cacheDir, "3"), { recursive: true, force: true });
    expect(await text(path)).toBe(first);
  });

  test("DELETE then re-create never answers from before", async () => {
    const site = "again.example";
    expect((await request(`${server.url}/${site}/bulk`, { body: { list: EVENTS } })).status).toBe(200);
    expect(JSON.parse(await text(`/${site}/count`))).toEqual({ total: 7, unique: 3 });
    expect((await request(`${server.url}/${site}`, { method: "DELETE" })).status).toBe(200);
    expect(cacheFiles(site)).toEqual([]);
    expect((await request(`${server.url}/${site}`, { body: EVENTS[0] })).status).toBe(200);
    expect(JSON.parse(await text(`/${site}/count`))).toEqual({ total: 1, unique: 1 });
  });

  test("a restart keeps valid answers and never serves a stale one", async () => {
    const root = join(tempDir(), "dbs");
    const dir = join(tempDir(), "cache");
    const args = ["--cache-directory", dir];
    const first = await startServer({ root, args });
    expect((await request(`${first.url}/r.example/bulk`, { body: { list: EVENTS } })).status).toBe(200);
    const answer = await (await fetch(`${first.url}/r.example/countries?unique=true`)).text();
    await first.stop();

    const second = await startServer({ root, args });
    try {
      expect(await (await fetch(`${second.url}/r.example/countries?unique=true`)).text()).toBe(answer);
      const scrape = await (await fetch(`${second.url}/_metrics`)).text();
      expect(scrape).toMatch(/^micro_analytics_cache_hits_total 1$/m);
      expect((await request(`${second.url}/r.example`, { body: { ...EVENTS[0], countryCode: "es", ip: "10.0.0.7" } })).status).toBe(200);
      const after = JSON.parse(await (await fetch(`${second.url}/r.example/countries?unique=true`)).text());
      expect(after.list).toContainEqual({ id: "fr", label: "France", total: 4, unique: 1 });
      expect(after.list.reduce((sum: number, row: { total: number }) => sum + row.total, 0)).toBe(8);
    } finally {
      await second.stop();
    }
  });

  test("the cache directory is kept under --cache-size", async () => {
    const dir = join(tempDir(), "cache");
    const small = await startServer({ args: ["--cache-directory", dir, "--cache-size", "1"] });
    try {
      const list = Array.from({ length: 3000 }, (_, i) => ({ time: 1_480_000_000 + i, ip: `10.9.${i >> 8}.${i & 255}`, event: `e${i}` }));
      expect((await request(`${small.url}/big.example/bulk`, { body: { list } })).status).toBe(200);
      // Each answer lists 3,000 events (some 150 KB); twenty of them are well over 1 MiB.
      for (let i = 0; i < 20; i++) await fetch(`${small.url}/big.example/events?unique=true&start=${1_480_000_000 + i}`);
      const bytes = readdirSync(join(dir, "3", "big.example")).reduce((sum, name) => sum + statSync(join(dir, "3", "big.example", name)).size, 0);
      expect(bytes).toBeLessThanOrEqual(1024 * 1024);
      expect(bytes).toBeGreaterThan(0);
    } finally {
      await small.stop();
    }
  });

  test("a cache directory that cannot be made costs time, never answers", async () => {
    const file = join(tempDir(), "a-file");
    writeFileSync(file, "");
    // Even root cannot make a directory below a regular file.
    const server = await startServer({ args: ["--cache-directory", join(file, "cache")] });
    try {
      expect((await request(`${server.url}/nocache.example/bulk`, { body: { list: EVENTS } })).status).toBe(200);
      for (let i = 0; i < 2; i++) {
        const { status, body } = await request(`${server.url}/nocache.example/count`);
        expect({ status, body }).toEqual({ status: 200, body: { total: 7, unique: 3 } });
      }
    } finally {
      await server.stop();
    }
  });
});
