/**
 * A request that creates many month shards (up to --max-new-shards) makes
 * them one at a time, with other requests answered in between: none waits
 * for the last one. In process, but in this tier: a hundred new shards, each
 * with its fsyncs, take a second or more.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { openApp, type TestApp } from "../helpers/app";
import { TEST_MS, waitFor } from "../helpers/wait";

setDefaultTimeout(TEST_MS);

/** The first second of the `i`-th month from January 1990, UTC. */
const monthStart = (i: number) => Date.UTC(1990, i, 1) / 1000;
const monthsOf = (root: string, website: string) => (existsSync(join(root, website)) ? readdirSync(join(root, website)).sort() : []);

describe("a bulk creating many month shards (--max-new-shards 100)", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await openApp(["--max-new-shards", "100"]);
  });
  afterAll(() => app.close());

  const shapes = [
    {
      shape: "one website, 100 months",
      path: "/spread.example/bulk",
      list: Array.from({ length: 100 }, (_, i) => ({ time: monthStart(i), path: `/${i}` })),
      made: (root: string) => monthsOf(root, "spread.example").length,
      count: "/spread.example/count",
    },
    {
      shape: "100 websites (POST /bulk)",
      path: "/bulk",
      list: Array.from({ length: 100 }, (_, i) => ({ website: `fresh-${i}.example`, time: monthStart(0), path: `/${i}` })),
      made: (root: string) => readdirSync(root).filter((name) => name.startsWith("fresh-")).length,
      count: "/fresh-99.example/count",
    },
  ];

  // Each new shard costs fsyncs, some tens of ms on a loaded disk: 100 of them get a generous minute.
  test.each(shapes)("creating $shape lets GET / and a write to another website be answered meanwhile", async ({ path, list, made, count }) => {
    expect((await app.request("/other.example", { body: { time: monthStart(0), path: "/before" } })).status).toBe(200);
    let bulkDone = false;
    const bulk = app.request(path, { body: { list } }).finally(() => (bulkDone = true));

    // Once it has begun making files, the others are sent; they must not wait for the last one.
    await waitFor("the bulk to start creating its shards", () => made(app.root) >= 5, 30_000);
    const welcome = await app.request("/");
    const single = await app.request("/other.example", { body: { time: monthStart(0), path: "/during" } });
    const answeredDuring = !bulkDone;
    const created = made(app.root);

    expect(welcome.status).toBe(200);
    expect(single).toMatchObject({ status: 200, body: { inserted: 1 } });
    expect({ answeredDuring, created: created < 100 }).toEqual({ answeredDuring: true, created: true });
    expect(await bulk).toMatchObject({ status: 200, body: { inserted: 100 } });
    expect(made(app.root)).toBe(100);
    expect((await app.request(count)).body.total).toBeGreaterThan(0);
  }, 60_000);
});
