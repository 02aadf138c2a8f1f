/**
 * One small request must not make the service create thousands of month
 * shards, nor hold other requests while it creates the ones it may: event
 * times lie in a window (1970 to a day ahead of the clock), a request
 * creates at most --max-new-shards shards, and those are made one at a time
 * with other requests answered in between (test/process/many-new-shards.test.ts:
 * a hundred shards take a second or more).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { type TestApp, variantsOfOneApp } from "../helpers/app";

const DAY = 86_400;
const now = () => Math.floor(Date.now() / 1000);
/** The first second of the `i`-th month from January 1990, UTC. */
const monthStart = (i: number) => Date.UTC(1990, i, 1) / 1000;
const monthsOf = (root: string, website: string) => (existsSync(join(root, website)) ? readdirSync(join(root, website)).sort() : []);

const variant = variantsOfOneApp();

describe("event times", () => {
  let app: TestApp;
  beforeAll(() => {
    app = variant([]);
  });

  test("up to a day ahead of the service's clock is stored", async () => {
    const answer = await app.request("/clock.example/bulk", { body: { list: [{ time: now() + DAY - 60 }, { time: now() }] } });
    expect(answer).toMatchObject({ status: 200, body: { inserted: 2 } });
  });

  test.each([
    ["a Unix time", (t: number) => t],
    ["RFC 3339", (t: number) => new Date(t * 1000).toISOString()],
  ])("more than a day ahead (%s) is 400 InvalidTimeFormat naming the item and field, and nothing is stored", async (_form, spell) => {
    const late = spell(now() + DAY + 3600);
    const single = await app.request("/future.example", { body: { time: late } });
    expect(single).toMatchObject({ status: 400, body: { code: "InvalidTimeFormat" } });
    expect(single.body.message).toStartWith("time: ");
    expect(single.body.message).toContain("more than a day ahead");

    const bulk = await app.request("/future.example/bulk", { body: { list: [{ time: now() }, { time: late }] } });
    expect(bulk).toMatchObject({ status: 400, body: { code: "InvalidTimeFormat" } });
    expect(bulk.body.message).toStartWith("list[1].time: ");
    expect(existsSync(join(app.root, "future.example"))).toBe(false);
  });

  test("old times are stored, back to 1970: backfills of the original service's data", async () => {
    const answer = await app.request("/old.example/bulk", { body: { list: [{ time: 0 }, { time: "2015-11-24T13:00:00Z" }] } });
    expect(answer).toMatchObject({ status: 200, body: { inserted: 2 } });
    expect(monthsOf(app.root, "old.example")).toEqual(["1970-01", "2015-11"]);
  });
});

describe("--max-new-shards 5", () => {
  let app: TestApp;
  beforeAll(() => {
    app = variant(["--max-new-shards", "5"]);
  });

  const months = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ time: monthStart(from + i), path: `/${from + i}` }));

  test("a bulk that would create 6 month shards is 400 LimitExceeded naming the flag, and stores nothing", async () => {
    const answer = await app.request("/spread.example/bulk", { body: { list: months(0, 6) } });
    expect(answer).toMatchObject({ status: 400, body: { code: "LimitExceeded" } });
    expect(answer.body.message).toContain("--max-new-shards");
    expect(answer.body.message).toContain("6");
    expect(existsSync(join(app.root, "spread.example"))).toBe(false);
  });

  test("5 new months are stored; then months that exist do not count, only new ones", async () => {
    expect(await app.request("/spread.example/bulk", { body: { list: months(0, 5) } })).toMatchObject({ status: 200, body: { inserted: 5 } });
    const again = await app.request("/spread.example/bulk", { body: { list: [...months(0, 5), ...months(5, 5)] } });
    expect(again).toMatchObject({ status: 200, body: { inserted: 10 } });
    expect(monthsOf(app.root, "spread.example")).toHaveLength(10);
    expect((await app.request("/spread.example/bulk", { body: { list: months(10, 6) } })).status).toBe(400);
    expect(monthsOf(app.root, "spread.example")).toHaveLength(10);
  });

  test("POST /bulk counts the new shards of every website in it", async () => {
    const list = Array.from({ length: 6 }, (_, i) => ({ website: `many-${i}.example`, time: monthStart(0) }));
    const answer = await app.request("/bulk", { body: { list } });
    expect(answer).toMatchObject({ status: 400, body: { code: "LimitExceeded" } });
    expect(answer.body.message).toContain("--max-new-shards");
    expect(readdirSync(app.root).filter((name) => name.startsWith("many-"))).toEqual([]);
    expect(await app.request("/bulk", { body: { list: list.slice(0, 5) } })).toMatchObject({ status: 200, body: { inserted: 5 } });
  });
});
