import { afterAll, beforeAll, expect, test } from "bun:test";
import { openApp, type TestApp } from "../helpers/app";

/**
 * A query that was under way when its website was deleted answers 404
 * (the website is gone) or a consistent answer, never a 500: the query
 * worker reads the months while the main thread renames the directory away.
 * Each round writes a website over 12 months, starts every kind of query at
 * once and deletes the website while they run.
 */
const ROUNDS = 20;
const MONTHS = Array.from({ length: 12 }, (_, i) => Date.UTC(2014, i, 10) / 1000);
const QUERIES = ["/count", "/countries?unique=true", "/events", "/time?interval=3600&unique=true", "/time", "/platforms?unique=true&start=1400000000", "?limit=5", ""];

let app: TestApp;
beforeAll(async () => {
  app = await openApp();
});
afterAll(() => app.close());

test(`queries racing DELETE answer 200 or 404, never 500 (${ROUNDS} rounds)`, async () => {
  const statuses = new Map<string, number>();
  const faults: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const site = `race-${round % 4}.example`;
    const list = MONTHS.flatMap((time) => [0, 1, 2].map((i) => ({ time: time + i * 3600, event: `e${i}`, ip: `10.0.${round}.${i}` })));
    expect((await app.request(`/${site}/bulk`, { body: { list } })).status).toBe(200);
    const queries = QUERIES.map(async (query) => {
      const response = await app.fetch(`/${site}${query}`);
      const text = await response.text();
      statuses.set(String(response.status), (statuses.get(String(response.status)) ?? 0) + 1);
      if (response.status !== 200 && response.status !== 404) faults.push(`${query}: ${response.status} ${text}`);
      if (response.status === 404) expect(JSON.parse(text).code).toBe("InvalidDatabaseName");
    });
    // Not a wait for a condition: 0 to 4 ms of head start vary where in
    // the worker's reading the delete falls.
    await Bun.sleep(round % 5);
    const deleted = await app.request(`/${site}`, { method: "DELETE" });
    expect(deleted.status).toBe(200);
    await Promise.all(queries);
  }
  expect(faults.slice(0, 5)).toEqual([]);
  // Both outcomes were reached, so the race was really run.
  expect(statuses.get("200")).toBeGreaterThan(0);
  expect(statuses.get("404")).toBeGreaterThan(0);
}, 60_000);
