/**
 * bun run bench:ingest — the write path under load, against a bare baseline
 * and the raw SQLite limit, on this machine. Prints a table; asserts nothing.
 * Needs wrk (apt-get install wrk).
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { startServer, tempDir } from "../test/helpers/server";
import { openShardFiles, peakRssMb, postLoad, type LoadResult } from "./lib";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const dir = tempDir("ma-bench-");

if (!Bun.which("wrk")) {
  console.error("bench:ingest needs wrk: apt-get install wrk");
  process.exit(1);
}

const USER_AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
];

function event(i: number) {
  return {
    event: i % 5 === 0 ? "download" : "pageview",
    path: `/docs/page-${i % 100}`,
    ip: `93.184.${(i >> 8) & 255}.${i & 255}`,
    headers: { "User-Agent": USER_AGENTS[i % USER_AGENTS.length]!, Referer: `https://www.site${i % 50}.example/search?q=x` },
  };
}

const single = JSON.stringify(event(1));
const bulk = JSON.stringify({ list: Array.from({ length: 1000 }, (_, i) => event(i)) });
const multiBulk = JSON.stringify({ list: Array.from({ length: 1000 }, (_, i) => ({ ...event(i), website: `site-${i % 100}` })) });

interface Row {
  name: string;
  eventsPerSecond: number;
  p50Ms?: number;
  p99Ms?: number;
  rssMb?: number;
}

const rows: Row[] = [];
const load = (url: string, body: string, connections: number): Promise<LoadResult> =>
  postLoad(url, body, { dir, seconds: SECONDS, connections });

function check(name: string, result: LoadResult): LoadResult {
  if (result.errors > 0) console.error(`${name}: ${result.errors} failed requests`);
  return result;
}

// 1. The bare baseline.
{
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "baseline-server.ts"), join(dir, "baseline.db"), "0"], { stdout: "pipe" });
  const reader = proc.stdout.getReader();
  let text = "";
  while (!/listening on (\S+)/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
  const url = /listening on (\S+)/.exec(text)![1]!.replace(/\/$/, "");
  const r = check("baseline", await load(`${url}/site`, single, 50));
  rows.push({ name: "bare Elysia + 1 insert/request, c50", eventsPerSecond: r.requestsPerSecond, p50Ms: r.p50Ms, p99Ms: r.p99Ms, rssMb: peakRssMb(proc.pid) });
  proc.kill();
  await proc.exited;
}

// 2–4. µAnalytics, one fresh server (and root) per scenario, so each RSS is its own.
async function scenario(name: string, path: string, body: string, connections: number, eventsPerRequest: number, args: string[] = []) {
  const server = await startServer({ args });
  const r = check(name, await load(`${server.url}${path}`, body, connections));
  rows.push({ name, eventsPerSecond: r.requestsPerSecond * eventsPerRequest, p50Ms: r.p50Ms, p99Ms: r.p99Ms, rssMb: peakRssMb(server.pid) });
  await server.stop();
}
await scenario("µAnalytics POST /:website, c50", "/site", single, 50, 1);
await scenario("µAnalytics POST /:website, --sync full, c50", "/site", single, 50, 1, ["--sync", "full"]);
await scenario("µAnalytics POST /:website/bulk (1,000 events), c4", "/site/bulk", bulk, 4, 1000);
await scenario("µAnalytics POST /bulk (1,000 events, 100 websites), c4", "/bulk", multiBulk, 4, 1000);

// What privacy costs on the hot path: --ip-mode hash (an HMAC a new address) and --bots drop (isbot a new
// User-Agent), beside the default, in turns A B B A so that a drift of the machine's load falls on both.
const PRIVATE = ["--ip-mode", "hash", "--bots", "drop"];
// More than a 10 s run sends: every request comes from an address never seen, so every HMAC is computed.
const ADDRESSES = 2 ** 24;
const variedSingle = JSON.stringify({ ...event(1), ip: "__IP__" });
const privacyPairs: { name: string; plain: number; private: number }[] = [];
for (const [name, body, addresses] of [
  ["one visitor (every lookup memoized)", single, undefined],
  ["a new visitor every request (no memo hit)", variedSingle, ADDRESSES],
] as const) {
  const rates = { plain: [] as number[], private: [] as number[] };
  for (const variant of ["plain", "private", "private", "plain"] as const) {
    const server = await startServer({ args: variant === "private" ? PRIVATE : [] });
    const r = check(`${name} ${variant}`, await postLoad(`${server.url}/site`, body, { dir, seconds: SECONDS, connections: 50, addresses }));
    rates[variant].push(r.requestsPerSecond);
    await server.stop();
  }
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  privacyPairs.push({ name, plain: mean(rates.plain), private: mean(rates.private) });
}

// The raw limit: the same rows straight into bun:sqlite, 1,000-row transactions.
{
  const db = new Database(join(dir, "raw.db"), { create: true, strict: true });
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = NORMAL");
  db.run("CREATE TABLE visits (time INTEGER, event TEXT, path TEXT, ip TEXT, platform TEXT, refererDomain TEXT, countryCode TEXT)");
  db.run("CREATE INDEX visits_time ON visits (time)");
  const insert = db.prepare("INSERT INTO visits VALUES (?, ?, ?, ?, ?, ?, ?)");
  const batch = Array.from({ length: 1000 }, (_, i) => ({
    event: "pageview", path: `/docs/page-${i % 100}`, ip: `93.184.0.${i & 255}`,
    platform: "Windows", refererDomain: "www.site1.example", countryCode: "us",
  }));
  // Times grow as they do when events arrive live, so the time index is appended to.
  let clock = 1_700_000_000;
  const tx = db.transaction(() => {
    for (const r of batch) insert.run(clock++, r.event, r.path, r.ip, r.platform, r.refererDomain, r.countryCode);
  });
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < Math.min(SECONDS, 5) * 1000) { tx(); n += batch.length; }
  rows.push({ name: "raw bun:sqlite, 1,000-row transactions", eventsPerSecond: n / ((performance.now() - t0) / 1000) });
  db.close();
}

// Many websites through a small pool: every write a pool miss once the pool is full.
const WEBSITES = Number(process.env.BENCH_WEBSITES ?? 10_000);
const manyWebsites = await (async () => {
  const server = await startServer({ args: ["--connections", "100"] });
  let next = 0;
  let failed = 0;
  let maxShardFds = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < WEBSITES) {
        const site = `site-${next++}`;
        const response = await fetch(`${server.url}/${site}`, { method: "POST", body: single });
        if (response.status !== 200) failed++;
        if (next % 100 === 0) maxShardFds = Math.max(maxShardFds, openShardFiles(server.pid));
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const result = { seconds, failed, maxShardFds, rssMb: peakRssMb(server.pid) };
  await server.stop();
  return result;
})();

const baseline = rows[0]!.eventsPerSecond;
const raw = rows.at(-1)!.eventsPerSecond;
const fmt = (n: number | undefined, digits = 1) => (n === undefined || Number.isNaN(n) ? "" : n.toFixed(digits));
console.log(`\ningest, ${SECONDS} s per run, wrk -t1 on the same machine (${navigator.hardwareConcurrency} cores)\n`);
console.log("| scenario | events/s | p50 ms | p99 ms | peak RSS MB | × baseline | × raw limit |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const r of rows) {
  console.log(
    `| ${r.name} | ${Math.round(r.eventsPerSecond).toLocaleString("en")} | ${fmt(r.p50Ms, 2)} | ${fmt(r.p99Ms, 2)} | ${fmt(r.rssMb, 0)} | ${fmt(r.eventsPerSecond / baseline, 2)} | ${fmt(r.eventsPerSecond / raw, 2)} |`,
  );
}

console.log(`\nPOST /:website, c50, default against ${PRIVATE.join(" ")} (each the mean of two runs, in turns A B B A)\n`);
console.log("| body | default events/s | hash + bots drop events/s | ratio |");
console.log("|---|---:|---:|---:|");
for (const pair of privacyPairs) {
  console.log(`| ${pair.name} | ${Math.round(pair.plain).toLocaleString("en")} | ${Math.round(pair.private).toLocaleString("en")} | ${(pair.private / pair.plain).toFixed(2)} |`);
}

console.log(
  `\n${WEBSITES.toLocaleString("en")} websites, one event each, --connections 100, 50 clients: ` +
    `${manyWebsites.seconds.toFixed(1)} s (${Math.round(WEBSITES / manyWebsites.seconds)} websites/s), ` +
    `${manyWebsites.failed} failed, at most ${manyWebsites.maxShardFds} shard files open, peak RSS ${manyWebsites.rssMb.toFixed(0)} MB`,
);
