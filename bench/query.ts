/**
 * bun run bench:query — answers over a year of one busy website. Prints a
 * table; asserts nothing. Needs wrk for the ingest-under-load row.
 *
 * The data set is made once and kept (in the system's temporary directory,
 * or BENCH_QUERY_DIR): one website, 12 months ending with the current one,
 * 1,000,000 events a month, about 50,000 of 300,000 visitors active in each
 * month and many coming back the next, Zipf-like choices among 20 events,
 * 1,000 paths, 15 platforms, 2,000 referrer domains and 150 countries.
 * And, for /_websites, a root of BENCH_WEBSITES (10,000) small websites.
 * BENCH_QUERIES=<text> runs only the query rows whose name holds it.
 */
import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, tempDir, type TestServer } from "../test/helpers/server";
import { cpuMs, peakRssMb, postLoad } from "./lib";
import { seededRandom } from "../test/helpers/random";
import { SUMMARY_FORMAT } from "../src/store/summary-format";
import { TimeZone } from "../src/modules/query/calendar";
import { diskUsage } from "../src/store/layout";
import { waitFor } from "../test/helpers/wait";

const PER_MONTH = Number(process.env.BENCH_EVENTS_PER_MONTH ?? 1_000_000);
const MONTHS = 12;
const WARM_RUNS = 20;
const dir = process.env.BENCH_QUERY_DIR ?? join(tmpdir(), `micro-analytics-bench-query-${PER_MONTH}`);
const root = join(dir, "dbs");
const SITE = "site.example";

const now = new Date();
const months = Array.from({ length: MONTHS }, (_, i) => {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - (MONTHS - 1 - i), 1));
  return d.toISOString().slice(0, 7);
});
const monthStart = (month: string) => Date.parse(`${month}-01T00:00:00Z`) / 1000;
const monthEnd = (month: string) => {
  const d = new Date(monthStart(month) * 1000);
  d.setUTCMonth(d.getUTCMonth() + 1);
  return d.getTime() / 1000 - 1;
};

/** Zipf-like: low indexes far more often than high ones. */
const skewed = (next: () => number, n: number) => Math.min(n - 1, Math.floor(n * next() ** 3));

function makeDataSet(): void {
  console.log(`making the data set in ${dir} (once) …`);
  const t0 = performance.now();
  const next = seededRandom(42);
  const countries = Array.from({ length: 150 }, (_, i) => String.fromCharCode(97 + (i % 26)) + String.fromCharCode(97 + Math.floor(i / 26)));
  months.forEach((month, m) => {
    const path = join(root, SITE, month, "analytics.db");
    mkdirSync(join(root, SITE, month), { recursive: true });
    const db = new Database(path, { create: true });
    db.run("PRAGMA journal_mode = WAL");
    db.run("PRAGMA synchronous = OFF");
    db.run("CREATE TABLE visits (time INTEGER, event TEXT, path TEXT, ip TEXT, platform TEXT, refererDomain TEXT, countryCode TEXT)");
    const insert = db.prepare("INSERT INTO visits VALUES (?, ?, ?, ?, ?, ?, ?)");
    const first = monthStart(month);
    const span = monthEnd(month) - first + 1;
    // 50,000 visitors a month, the window moving by 20,000: 30,000 come back next month.
    const offset = m * 20_000;
    db.transaction(() => {
      for (let i = 0; i < PER_MONTH; i++) {
        const visitor = (offset + skewed(next, 50_000)) % 300_000;
        insert.run(
          first + Math.floor((i / PER_MONTH) * span),
          `event-${skewed(next, 20)}`,
          `/page/${skewed(next, 1000)}`,
          `10.${visitor >> 16}.${(visitor >> 8) & 255}.${visitor & 255}`,
          `platform-${visitor % 15}`,
          `site${skewed(next, 2000)}.example`,
          countries[visitor % 150]!,
        );
      }
    })();
    db.run("CREATE INDEX visits_time ON visits (time)");
    db.close();
  });
  writeFileSync(join(dir, "ready"), "");
  console.log(`… done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

if (!existsSync(join(dir, "ready"))) {
  rmSync(dir, { recursive: true, force: true });
  makeDataSet();
}

const last = months.at(-1)!;
const RANGES = {
  year: { start: monthStart(months[0]!), end: monthEnd(last) },
  "last month": { start: monthStart(last), end: monthEnd(last) },
  "last week": { start: monthEnd(last) - 7 * 86_400 + 1, end: monthEnd(last) },
};
type RangeName = keyof typeof RANGES;
const EVERY_RANGE = Object.keys(RANGES) as RangeName[];

/**
 * Plain SQL's local day in Paris: the offset changes at instants known
 * beforehand, so a CASE over them gives each row its local midnight.
 */
function parisDaySql(): string {
  const paris = TimeZone.named("Europe/Paris");
  const cases: string[] = [];
  let from = RANGES.year.start;
  let offset = paris.offsetAt(from);
  for (let at = from; at <= RANGES.year.end + 3600; at += 3600) {
    if (paris.offsetAt(at) === offset && at <= RANGES.year.end) continue;
    cases.push(`WHEN time < ${at} THEN ((time + ${offset}) / 86400) * 86400 - ${offset}`);
    from = at;
    offset = paris.offsetAt(at);
  }
  return `CASE ${cases.join(" ")} END`;
}

const ALL_QUERIES: { name: string; path: string; key: string; where?: string; ranges: RangeName[] }[] = [
  { name: "/count", path: "count", key: "''", ranges: EVERY_RANGE },
  { name: "/countries?unique=true", path: "countries?unique=true", key: "IFNULL(countryCode, '')", ranges: EVERY_RANGE },
  { name: "/platforms?unique=true", path: "platforms?unique=true", key: "IFNULL(platform, '')", ranges: EVERY_RANGE },
  { name: "/domains?unique=true", path: "domains?unique=true", key: "IFNULL(refererDomain, '')", ranges: EVERY_RANGE },
  { name: "/events?unique=true", path: "events?unique=true", key: "IFNULL(event, '')", ranges: EVERY_RANGE },
  { name: "/time?interval=86400&unique=true", path: "time?interval=86400&unique=true", key: "(time / 86400) * 86400", ranges: EVERY_RANGE },
  { name: "/paths?unique=true", path: "paths?unique=true", key: "IFNULL(path, '')", ranges: EVERY_RANGE },
  // The dashboard's question: the top rows, their visitors united apart.
  { name: "/paths?unique=true&limit=11", path: "paths?unique=true&limit=11", key: "IFNULL(path, '')", ranges: ["year"] },
  // event-0 is the commonest event (37 % of them), /page/0 the most read page (10 %).
  {
    name: "/countries?unique=true&event=event-0",
    path: "countries?unique=true&event=event-0",
    key: "IFNULL(countryCode, '')",
    where: "event = 'event-0'",
    ranges: ["year"],
  },
  {
    name: "/time?interval=day&unique=true&path=/page/0",
    path: "time?interval=day&unique=true&path=/page/0",
    key: "(time / 86400) * 86400",
    where: "path = '/page/0'",
    ranges: ["year"],
  },
  { name: "/time?interval=day&tz=Europe/Paris&unique=true", path: "time?interval=day&tz=Europe/Paris&unique=true", key: parisDaySql(), ranges: ["year"] },
  // Weeks from Monday: 1970-01-05, day 4 of the epoch, was one.
  { name: "/time?interval=week&unique=true", path: "time?interval=week&unique=true", key: "(time / 86400 - 4) / 7", ranges: ["year"] },
];
const QUERIES = ALL_QUERIES.filter((q) => q.name.includes(process.env.BENCH_QUERIES ?? ""));

/** The baseline: plain SQL over each shard (with the query's filter), distinct visitors merged exactly across shards. */
function plainSql(key: string, where: string | undefined, range: { start: number; end: number }): number {
  const t0 = performance.now();
  const groups = new Map<unknown, Set<string>>();
  for (const month of months) {
    if (monthEnd(month) < range.start || monthStart(month) > range.end) continue;
    const db = new Database(join(root, SITE, month, "analytics.db"), { readonly: true });
    const rows = db
      .query(`SELECT ${key} AS k, ip, COUNT(*) AS n FROM visits WHERE time >= ? AND time <= ? ${where ? `AND ${where}` : ""} GROUP BY k, ip`)
      .all(range.start, range.end) as { k: unknown; ip: string }[];
    for (const row of rows) {
      let set = groups.get(row.k);
      if (!set) groups.set(row.k, (set = new Set()));
      set.add(row.ip);
    }
    db.close();
  }
  return performance.now() - t0;
}

async function timed(server: TestServer, path: string): Promise<number> {
  const t0 = performance.now();
  const response = await fetch(`${server.url}/${SITE}/${path}`);
  const body = await response.text();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${body}\n${server.output().slice(-2000)}`);
  return performance.now() - t0;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const query = (q: { path: string }, range: { start: number; end: number }) =>
  `${q.path}${q.path.includes("?") ? "&" : "?"}start=${range.start}&end=${range.end}`;

// Summaries are built by the first query of each month and kept beside the
// shards; "first ever" measures that once, on a copy without them.
const hasSummaries = readdirSync(join(root, SITE)).every((month) => summaryFormat(join(root, SITE, month, "summary.db")) === SUMMARY_FORMAT);
let firstEver: number | undefined;
let firstEverRss = 0;
if (!hasSummaries) {
  const server = await startServer({ root, args: ["--log-level", "warn", "--cache-directory", join(tempDir(), "cache")] });
  try {
    firstEver = await timed(server, query(ALL_QUERIES[1]!, RANGES.year));
    firstEverRss = peakRssMb(server.pid);
  } finally {
    await server.stop();
  }
}

function summaryFormat(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const db = new Database(path, { readonly: true });
  try {
    return (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
  } finally {
    db.close();
  }
}

const rows: string[] = [];
for (const [rangeName, range] of Object.entries(RANGES) as [RangeName, (typeof RANGES)[RangeName]][]) {
  for (const q of QUERIES) {
    if (!q.ranges.includes(rangeName)) continue;
    // Cold: a fresh process, an empty cache, once the summary builder has looked at every month after start.
    const server = await startServer({ root, args: ["--cache-directory", join(tempDir(), "cache")] });
    await waitFor("the summaries line", () => server.output().includes("summaries up to date"), 120_000);
    const cpuBefore = cpuMs(server.pid);
    const cold = await timed(server, query(q, range));
    const cpu = cpuMs(server.pid) - cpuBefore;
    const rss = peakRssMb(server.pid);
    const warm: number[] = [];
    for (let i = 0; i < WARM_RUNS; i++) warm.push(await timed(server, query(q, range)));
    await server.stop();
    const baseline = plainSql(q.key, q.where, range);
    rows.push(
      `| ${q.name} | ${rangeName} | ${cold.toFixed(0)} | ${cpu.toFixed(0)} | ${median(warm).toFixed(1)} | ${baseline.toFixed(0)} | ${(baseline / cold).toFixed(1)}× | ${rss.toFixed(0)} |`,
    );
  }
}

// GET /_websites over many small websites, once the summaries are built after start.
const WEBSITES = Number(process.env.BENCH_WEBSITES ?? 10_000);
const sitesDir = join(dir, `websites-${WEBSITES}`);
const sitesRoot = join(sitesDir, "dbs");
if (!existsSync(join(sitesDir, "ready"))) {
  rmSync(sitesDir, { recursive: true, force: true });
  console.log(`making ${WEBSITES.toLocaleString("en")} websites in ${sitesRoot} (once) …`);
  for (let w = 0; w < WEBSITES; w++) {
    mkdirSync(join(sitesRoot, `site-${w}.example`, last), { recursive: true });
    const db = new Database(join(sitesRoot, `site-${w}.example`, last, "analytics.db"), { create: true });
    db.run("CREATE TABLE visits (time INTEGER, event TEXT, path TEXT, ip TEXT, platform TEXT, refererDomain TEXT, countryCode TEXT)");
    const insert = db.prepare("INSERT INTO visits VALUES (?, 'pageview', '/', ?, '', '', '')");
    db.transaction(() => {
      for (let i = 0; i < 10; i++) insert.run(monthStart(last) + w * 60 + i, `10.9.${w % 250}.${i}`);
    })();
    db.close();
  }
  writeFileSync(join(sitesDir, "ready"), "");
}
let websites: { first: number; warm: number; plain: number; built: number } | undefined;
{
  const t0 = performance.now();
  const server = await startServer({ root: sitesRoot, args: ["--cache-directory", join(tempDir(), "cache")] });
  await waitFor("the summaries line", () => server.output().includes("summaries up to date"), 20 * 60_000);
  const built = performance.now() - t0;
  const list = async () => {
    const t = performance.now();
    const response = await fetch(`${server.url}/_websites`);
    const body = (await response.json()) as { list: unknown[] };
    if (!response.ok || body.list.length !== WEBSITES) throw new Error(`/_websites: ${response.status}, ${body.list?.length} websites`);
    return performance.now() - t;
  };
  const first = await list();
  const warm: number[] = [];
  for (let i = 0; i < WARM_RUNS; i++) warm.push(await list());
  await server.stop();
  // Plain SQL: each shard's count and first and last event, and the bytes under each website.
  const t1 = performance.now();
  for (const website of readdirSync(sitesRoot).filter((name) => name.endsWith(".example"))) {
    for (const month of readdirSync(join(sitesRoot, website))) {
      const db = new Database(join(sitesRoot, website, month, "analytics.db"), { readonly: true });
      db.query("SELECT count(*), min(time), max(time) FROM visits").get();
      db.close();
    }
    diskUsage(join(sitesRoot, website));
  }
  websites = { first, warm: median(warm), plain: performance.now() - t1, built };
}

/** BENCH_QUERIES set: only the query rows asked for, and /_websites. */
const ONLY_QUERIES = process.env.BENCH_QUERIES !== undefined;

// Ingest while the heaviest query runs in a loop, its end moving so that no
// answer comes from the cache.
let ingest: { p99: number; rps: number } | undefined;
if (Bun.which("wrk") && !ONLY_QUERIES) {
  const server = await startServer({ root, args: ["--log-level", "warn", "--cache-directory", join(tempDir(), "cache")] });
  let running = true;
  let loops = 0;
  const heavy = (async () => {
    for (let shift = 0; running; shift++) {
      await timed(server, query(QUERIES[3]!, { start: RANGES.year.start, end: RANGES.year.end - shift }));
      loops++;
    }
  })();
  const body = JSON.stringify({ event: "pageview", path: "/", ip: "93.184.216.34", headers: { "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)" } });
  const load = await postLoad(`${server.url}/live.example`, body, { dir: tempDir(), seconds: 10, connections: 50 });
  running = false;
  await heavy;
  // The data set stays as it was made.
  await fetch(`${server.url}/live.example`, { method: "DELETE" });
  await server.stop();
  ingest = { p99: load.p99Ms, rps: load.requestsPerSecond };
  console.log(`(${loops} heavy queries ran during the ingest load)`);
}

// The current month while it is written to: each answer first folds the
// rows that came since the one before. On a copy of the month, so the data
// set stays as it was made.
let live: { p50: number; p99: number; queries: number; rps: number; p99Ingest: number } | undefined;
if (Bun.which("wrk") && !ONLY_QUERIES) {
  const liveRoot = join(tempDir(), "dbs");
  mkdirSync(join(liveRoot, SITE, last), { recursive: true });
  copyFileSync(join(root, SITE, last, "analytics.db"), join(liveRoot, SITE, last, "analytics.db"));
  const server = await startServer({ root: liveRoot, args: ["--log-level", "warn", "--cache-directory", join(tempDir(), "cache")] });
  // A copy is a file of its own: the first answer builds its summary.
  await timed(server, `count?start=${monthStart(last)}`);
  let running = true;
  const times: number[] = [];
  const dashboard = (async () => {
    while (running) {
      times.push(await timed(server, `domains?unique=true&start=${monthStart(last)}`));
      await Bun.sleep(100);
    }
  })();
  const body = JSON.stringify({ event: "pageview", path: "/", ip: "93.184.216.34", refererDomain: "live.example" });
  const load = await postLoad(`${server.url}/${SITE}`, body, { dir: tempDir(), seconds: 10, connections: 50 });
  running = false;
  await dashboard;
  await server.stop();
  const sorted = [...times].sort((a, b) => a - b);
  live = { p50: median(times), p99: sorted[Math.floor(sorted.length * 0.99)]!, queries: times.length, rps: load.requestsPerSecond, p99Ingest: load.p99Ms };
}

// Streaming the whole year out of GET /:website.
let stream: { lines: number; seconds: number; rss: number } | undefined;
if (!ONLY_QUERIES) {
  const streamServer = await startServer({ root, args: ["--log-level", "warn"] });
  const t0 = performance.now();
  const response = await fetch(`${streamServer.url}/${SITE}?format=ndjson`);
  let lines = 0;
  // Lines counted with indexOf: a loop over each byte in JS made the client, not the server, the limit.
  for await (const chunk of response.body!) {
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
  }
  stream = { lines, seconds: (performance.now() - t0) / 1000, rss: peakRssMb(streamServer.pid) };
  await streamServer.stop();
}

console.log(`\nqueries over ${(PER_MONTH * MONTHS).toLocaleString("en")} events, ${MONTHS} months (cold: fresh process and empty cache; warm: median of ${WARM_RUNS})\n`);
console.log("| query | range | cold ms | cold CPU ms | warm ms | plain SQL ms | plain SQL ÷ cold | peak RSS MB (cold) |");
console.log("|---|---|---:|---:|---:|---:|---:|---:|");
for (const row of rows) console.log(row);
if (websites) {
  console.log(
    `\n/_websites over ${WEBSITES.toLocaleString("en")} websites: first ${websites.first.toFixed(0)} ms after the summaries were built ` +
      `(${(websites.built / 1000).toFixed(0)} s from start), warm ${websites.warm.toFixed(0)} ms, plain SQL ${websites.plain.toFixed(0)} ms`,
  );
}
if (firstEver !== undefined) {
  console.log(`\nfirst query ever (building every month's summary): ${(firstEver / 1000).toFixed(1)} s, peak RSS ${firstEverRss.toFixed(0)} MB`);
}
if (live) {
  console.log(
    `current month while it is written to (${Math.round(live.rps)} events/s, p99 ${live.p99Ingest.toFixed(1)} ms): ` +
      `/domains?unique=true every 100 ms, ${live.queries} answers, median ${live.p50.toFixed(0)} ms, p99 ${live.p99.toFixed(0)} ms`,
  );
}
if (ingest) console.log(`ingest while /domains?unique=true over the year runs in a loop: ${Math.round(ingest.rps)} events/s, p99 ${ingest.p99.toFixed(1)} ms`);
if (stream) {
  const { lines, seconds, rss } = stream;
  console.log(`streaming the year as NDJSON: ${lines.toLocaleString("en")} events in ${seconds.toFixed(1)} s (${Math.round(lines / seconds).toLocaleString("en")} events/s), peak RSS ${rss.toFixed(0)} MB`);
}
console.log(`(load average at the end: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(", ")})`);
