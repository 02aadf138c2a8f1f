import { afterEach, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { openApp, type TestApp } from "../helpers/app";

let app: TestApp | undefined;
afterEach(() => app?.close());

const WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
/** The visitor to erase (8.8.8.8, sent in three spellings, over two months, the only Windows user) and two others. */
const EVENTS = [
  { time: "2015-11-24T13:00:00Z", event: "pageview", ip: "8.8.8.8", headers: { "User-Agent": WINDOWS, Referer: "https://only.example/" } },
  { time: "2015-11-24T14:00:00Z", event: "pageview", ip: "1.1.1.1" },
  { time: "2015-11-25T09:00:00Z", event: "download", ip: "8.8.8.8:51000" },
  { time: "2015-12-02T10:00:00Z", event: "pageview", ip: "::ffff:8.8.8.8" },
  { time: "2015-12-02T11:00:00Z", event: "pageview", ip: "9.9.9.9" },
];

const queries = ["/site/count", "/site/countries?unique=true", "/site/platforms?unique=true", "/site/domains", "/site/events?unique=true", "/site/time?interval=86400&unique=true", "/site"];
const answers = async () => Object.fromEntries(await Promise.all(queries.map(async (path) => [path, (await app!.request(path)).body])));

test("DELETE /:website/visitors/:ip removes the visitor from counts, breakdowns, series, the event list and cached answers", async () => {
  app = await openApp([]);
  await app.request("/site/bulk", { body: { list: EVENTS } });
  const before = await answers();
  // The keep mode counts each spelling sent as a visitor of its own, as the original did.
  expect(before["/site/count"]).toEqual({ total: 5, unique: 5 });
  // Asked again: now from the cache.
  expect(await answers()).toEqual(before);

  const erased = await app.request("/site/visitors/8.8.8.8", { method: "DELETE" });
  expect(erased).toMatchObject({ status: 200, body: { removed: 3 } });

  const after = await answers();
  expect(after["/site/count"]).toEqual({ total: 2, unique: 2 });
  expect(after["/site/countries?unique=true"].list).toEqual([
    { id: "au", label: "Australia", total: 1, unique: 1 },
    { id: "us", label: "United States of America", total: 1, unique: 1 },
  ]);
  expect(after["/site/platforms?unique=true"].list).toEqual([{ id: "", label: "", total: 2, unique: 2 }]);
  expect(after["/site/domains"].list.map((row: { id: string }) => row.id)).toEqual([""]);
  expect(after["/site/events?unique=true"].list).toEqual([{ id: "pageview", label: "pageview", total: 2, unique: 2 }]);
  expect(after["/site/time?interval=86400&unique=true"].list.map((b: { start: string }) => b.start)).toEqual(["2015-11-24T00:00:00Z", "2015-12-02T00:00:00Z"]);
  expect(after["/site"].list.map((row: { ip: string }) => row.ip)).toEqual(["1.1.1.1", "9.9.9.9"]);

  // No summary keeps the address, and the website's cached answers are gone.
  for (const month of ["2015-11", "2015-12"]) {
    const summary = join(app.root, "site", month, "summary.db");
    if (existsSync(summary)) expect(readFileSync(summary).includes("8.8.8.8")).toBe(false);
  }
  const metrics = await (await app.fetch("/_metrics")).text();
  expect(metrics).toContain("micro_analytics_events_erased_total 3\n");

  expect((await app.request("/site/visitors/8.8.8.8", { method: "DELETE" })).body).toEqual({ removed: 0 });
});

test("in the hash mode the address given is erased through its hash; an IPv6 address goes percent-encoded or not", async () => {
  app = await openApp(["--ip-mode", "hash"]);
  await app.request("/site/bulk", { body: { list: [...EVENTS, { time: "2015-12-03T10:00:00Z", ip: "2001:db8::1" }] } });
  expect((await app.request("/site/visitors/8.8.8.8", { method: "DELETE" })).body).toEqual({ removed: 3 });
  expect((await app.request("/site/visitors/2001%3Adb8%3A%3A1", { method: "DELETE" })).body).toEqual({ removed: 1 });
  expect((await app.request("/site/count")).body).toEqual({ total: 2, unique: 2 });
});

test("erasure: an unknown website is 404, another method 405, and the route wants the full credentials", async () => {
  app = await openApp(["--token", "full", "--ingest-token", "writer"]);
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  await app.request("/site", { body: EVENTS[0], headers: bearer("writer") });
  expect((await app.request("/nowhere/visitors/8.8.8.8", { method: "DELETE", headers: bearer("full") })).status).toBe(404);
  expect((await app.request("/site/visitors/8.8.8.8", { method: "GET", headers: bearer("full") })).status).toBe(405);
  expect((await app.request("/site/visitors/8.8.8.8", { method: "DELETE", headers: bearer("writer") })).status).toBe(403);
  expect((await app.request("/site/visitors/8.8.8.8", { method: "DELETE" })).status).toBe(401);
  expect((await app.request("/site/visitors/8.8.8.8", { method: "DELETE", headers: bearer("full") })).body).toEqual({ removed: 1 });
  expect(readdirSync(join(app.root, "site"))).toEqual(["2015-11"]);
});
