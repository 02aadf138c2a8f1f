import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { openApp } from "../helpers/app";
import { cleanup, scratch } from "../helpers/cleanup";
import { writeOriginalShard, type VisitRow } from "../helpers/files";
import { TEST_MS } from "../helpers/wait";

afterAll(cleanup);
setDefaultTimeout(TEST_MS);

/**
 * The query worker keeps each website's visitors in one id space between
 * queries (--visitor-memory), so that a unique count across months need not
 * read every month's visitors again. What it keeps must never make an
 * answer wrong, and must go when the visitors do.
 */
const SITE = "kept.example";
const JANUARY = Date.UTC(2016, 0, 10) / 1000;
const FEBRUARY = Date.UTC(2016, 1, 10) / 1000;
const YEAR = `start=${Date.UTC(2016, 0, 1) / 1000}&end=${Date.UTC(2017, 0, 1) / 1000 - 1}`;

const rows = (time: number, ips: string[]): VisitRow[] =>
  ips.map((ip, i) => ({ time: time + i, event: "view", path: "/", ip, platform: "", refererDomain: "", countryCode: "fr" }));

function seeded(): string {
  const root = scratch();
  writeOriginalShard(root, SITE, "2016-01", rows(JANUARY, ["10.0.0.1", "10.0.0.2"]));
  writeOriginalShard(root, SITE, "2016-02", rows(FEBRUARY, ["10.0.0.2", "10.0.0.3"]));
  return root;
}

function metric(text: string, name: string): number {
  return Number(new RegExp(`^micro_analytics_${name} (\\S+)$`, "m").exec(text)?.[1]);
}

test("a month whose shard is replaced behind the service is numbered anew, and the year stays exact", async () => {
  const root = seeded();
  const app = await openApp([], { root });
  try {
    expect((await app.request(`/${SITE}/count?${YEAR}`)).body).toEqual({ total: 4, unique: 3 });
    // A backup copied over January: a new file at the path, holding only the visitor both months share.
    const replacement = scratch();
    const path = writeOriginalShard(replacement, SITE, "2016-01", rows(JANUARY, ["10.0.0.2"]));
    rmSync(join(root, SITE, "2016-01", "summary.db"), { force: true });
    renameSync(path, join(root, SITE, "2016-01", "analytics.db"));
    expect((await app.request(`/${SITE}/count?${YEAR}`)).body).toEqual({ total: 3, unique: 2 });
    expect((await app.request(`/${SITE}/countries?unique=true&${YEAR}`)).body).toEqual({ list: [{ id: "fr", label: "France", total: 3, unique: 2 }] });
  } finally {
    await app.close();
  }
});

test("a summary deleted and built again while its neighbours' ids are kept still unites with them", async () => {
  const root = seeded();
  const app = await openApp([], { root });
  try {
    await app.request(`/${SITE}/count?${YEAR}`);
    rmSync(join(root, SITE, "2016-02", "summary.db"));
    await app.request(`/${SITE}/count?start=${Date.UTC(2016, 1, 1) / 1000}`);
    expect((await app.request(`/${SITE}/time?interval=week&unique=true&${YEAR}&cache=false`)).status).toBe(200);
    expect((await app.request(`/${SITE}/count?${YEAR}&event=view`)).body).toEqual({ total: 4, unique: 3 });
  } finally {
    await app.close();
  }
});

test("what is kept shows in the metrics, and goes when the website is deleted or a visitor erased", async () => {
  const app = await openApp([], { root: seeded() });
  try {
    await app.request(`/${SITE}/count?${YEAR}`);
    let metrics = (await app.request("/_metrics")).body as string;
    expect(metric(metrics, "visitors_kept")).toBe(3);
    expect(metric(metrics, "visitors_kept_bytes")).toBeGreaterThan(0);

    expect((await app.request(`/${SITE}/visitors/10.0.0.3`, { method: "DELETE" })).status).toBe(200);
    metrics = (await app.request("/_metrics")).body as string;
    expect(metric(metrics, "visitors_kept")).toBe(0);
    expect((await app.request(`/${SITE}/count?${YEAR}`)).body).toEqual({ total: 3, unique: 2 });
    expect(metric((await app.request("/_metrics")).body as string, "visitors_kept")).toBe(2);

    expect((await app.request(`/${SITE}`, { method: "DELETE" })).status).toBe(200);
    expect(metric((await app.request("/_metrics")).body as string, "visitors_kept")).toBe(0);
  } finally {
    await app.close();
  }
});

test("with --visitor-memory 0 nothing is kept, and the answers are the same", async () => {
  const app = await openApp(["--visitor-memory", "0"], { root: seeded() });
  try {
    expect((await app.request(`/${SITE}/count?${YEAR}`)).body).toEqual({ total: 4, unique: 3 });
    expect((await app.request(`/${SITE}/time?interval=month&unique=true&${YEAR}`)).body).toMatchObject({ list: [{ unique: 2 }, { unique: 2 }] });
    expect(metric((await app.request("/_metrics")).body as string, "visitors_kept")).toBe(0);
  } finally {
    await app.close();
  }
});

test("after start, the busiest websites' visitors are read before the summaries line", async () => {
  const root = scratch();
  const ips = Array.from({ length: 25_000 }, (_, i) => `10.5.${i >> 8}.${i & 255}`);
  writeOriginalShard(root, SITE, "2016-01", rows(JANUARY, ips));
  writeOriginalShard(root, "small.example", "2016-01", rows(JANUARY, ["10.0.0.1"]));
  const app = await openApp([], { root });
  try {
    const log = await app.waitForOutput("summaries up to date");
    expect(log).toMatch(/summaries up to date shards=2 visitorsKept=25000/);
    expect(metric((await app.request("/_metrics")).body as string, "visitors_kept")).toBe(25_000);
  } finally {
    await app.close();
  }
});
