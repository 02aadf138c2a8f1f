/**
 * bun run bench:backup — how fast `micro-analytics backup` copies a root while
 * the service keeps ingesting. Builds a root of BENCH_EVENTS events (default
 * 2,000,000) over 4 websites and 6 months with bun:sqlite, starts the service
 * on it, keeps posting to it, and times the backup command.
 */
import { Database } from "bun:sqlite";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { runCli, startServer, tempDir } from "../test/helpers/server";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 2_000_000);
const WEBSITES = 4;
const MONTHS = ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"];
const dir = tempDir("ma-bench-backup-");
const root = join(dir, "dbs");

const perShard = Math.ceil(EVENTS / (WEBSITES * MONTHS.length));
for (let w = 0; w < WEBSITES; w++) {
  for (const month of MONTHS) {
    mkdirSync(join(root, `site-${w}`, month), { recursive: true });
    const db = new Database(join(root, `site-${w}`, month, "analytics.db"), { create: true });
    db.run("PRAGMA journal_mode = WAL");
    db.run("CREATE TABLE visits (time INTEGER, event TEXT, path TEXT, ip TEXT, platform TEXT, refererDomain TEXT, countryCode TEXT)");
    const insert = db.prepare("INSERT INTO visits VALUES (?, ?, ?, ?, ?, ?, ?)");
    const start = Date.parse(`${month}-01T00:00:00Z`) / 1000;
    db.transaction(() => {
      for (let i = 0; i < perShard; i++) {
        insert.run(start + i, i % 7 ? "pageview" : "download", `/docs/page-${i % 1000}`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, "Windows", `site${i % 2000}.example`, "us");
      }
    })();
    db.close();
  }
}

const server = await startServer({ root, args: ["--log-level", "warn"] });
let posting = true;
let acked = 0;
const writer = (async () => {
  while (posting) {
    const response = await fetch(`${server.url}/site-0`, { method: "POST", body: JSON.stringify({ event: "live", ip: "8.8.8.8" }) });
    if (response.ok) acked++;
  }
})();

const started = performance.now();
const result = await runCli(["backup", join(dir, "backup"), "--root", root], {}, 600_000);
const seconds = (performance.now() - started) / 1000;
posting = false;
await writer;
await server.stop();

console.log(result.stdout.trim());
if (result.exitCode !== 0) console.error(result.stderr);
console.log(
  `backup of ${(perShard * WEBSITES * MONTHS.length).toLocaleString("en")} events in ${WEBSITES * MONTHS.length} shards: ` +
    `${seconds.toFixed(2)} s wall (${Math.round((perShard * WEBSITES * MONTHS.length) / seconds).toLocaleString("en")} events/s), ` +
    `while the service acknowledged ${acked} single events`,
);
rmSync(dir, { recursive: true, force: true });
