import { expect, setDefaultTimeout, test } from "bun:test";
import { Database } from "bun:sqlite";
import { cpSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { HASHED } from "../../src/enrich/ip-mode";
import { writeOriginalShard, type VisitRow } from "../helpers/files";
import { cleanEnv, request, runCli, serverCommand, startServer, tempDir } from "../helpers/server";
import { TEST_MS, waitFor } from "../helpers/wait";

setDefaultTimeout(TEST_MS);

const MONTHS = Array.from({ length: 24 }, (_, i) => `${2014 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, "0")}`);
const ROWS = 2_500;
const RAW_IPV4 = /(?<![\d.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d.])/;
const RAW_OTHERS = ["2001:db8:", "unknown"];

/** A month of the original's rows: 500 visitors, some of them in other spellings, some with no address. */
function rows(month: string): VisitRow[] {
  const start = Date.parse(`${month}-01T00:00:00Z`) / 1000;
  return Array.from({ length: ROWS }, (_, i) => {
    const visitor = (i * 7919) % 500;
    const ip =
      i % 97 === 0 ? "" : i % 89 === 0 ? "unknown" : visitor % 50 === 0 ? `2001:db8::${visitor.toString(16)}` : visitor % 7 === 0 ? `10.0.${visitor >> 8}.${visitor & 255}:8080` : `10.0.${visitor >> 8}.${visitor & 255}`;
    return { time: start + i * 60, event: "pageview", path: `/page/${i % 40}`, ip, platform: "Linux", refererDomain: `site${i % 9}.example`, countryCode: "us" };
  });
}

const shardsOf = (root: string) =>
  readdirSync(root)
    .filter((name) => !name.startsWith("."))
    .flatMap((site) => readdirSync(join(root, site)).map((month) => join(root, site, month, "analytics.db")));

/** Every stored ip of a shard: all raw (or empty) before, all hashes (or empty) after; anything else is half a rewrite. */
function shardState(path: string): "old" | "new" | "mixed" {
  const db = new Database(path, { readwrite: true, create: false });
  try {
    const ips = db.query<{ ip: string }, []>("SELECT DISTINCT ip FROM visits WHERE ip != ''").all().map((row) => row.ip);
    const hashed = ips.filter((ip) => HASHED.test(ip)).length;
    return hashed === 0 ? "old" : hashed === ips.length ? "new" : "mixed";
  } finally {
    db.close(true);
  }
}

/** The files under `dirs` that still hold a raw address, with what was found. */
function rawAddressesIn(...dirs: string[]): string[] {
  const found: string[] = [];
  for (const dir of dirs) {
    for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || entry.name === ".ip-hash-key") continue;
      const path = join(entry.parentPath, entry.name);
      const text = readFileSync(path).toString("latin1");
      const match = RAW_IPV4.exec(text)?.[0] ?? RAW_OTHERS.find((raw) => text.includes(raw));
      if (match) found.push(`${path}: ${match}`);
    }
  }
  return found;
}

test("anonymize, killed halfway and run again, leaves no raw address in any shard, WAL, summary or cache file, and the same unique counts", async () => {
  const dir = tempDir("ma-anonymize-");
  const original = join(dir, "original");
  for (const month of MONTHS) writeOriginalShard(original, "served.example", month, rows(month));
  for (const month of MONTHS.slice(0, 4)) writeOriginalShard(original, "cold.example", month, rows(month));
  // A copy, as an operator would try it first.
  const root = join(dir, "dbs");
  cpSync(original, root, { recursive: true });
  const cache = join(dir, "cache");

  // The service has served the root: summaries (which list the addresses) and cached answers exist.
  let server = await startServer({ root, args: ["--cache-directory", cache] });
  await waitFor("the summaries", () => server.output().includes("summaries up to date"), 120_000);
  const counts = (await request(`${server.url}/served.example/count`)).body;
  const countries = (await request(`${server.url}/served.example/countries?unique=true`)).body;
  expect(counts.total).toBe(MONTHS.length * ROWS);
  await server.stop();
  expect(rawAddressesIn(root).length).toBeGreaterThan(0);

  const dry = await runCli(["anonymize", "--dry-run", "--root", root]);
  expect(dry.exitCode).toBe(0);
  expect(dry.stdout).toContain(`in ${MONTHS.length + 4} of ${MONTHS.length + 4} shards`);
  expect(dry.stdout).toContain("(which would be made); nothing was changed");
  expect(existsSync(join(root, ".ip-hash-key"))).toBe(false);

  // Killed once it has finished a few shards.
  const proc = Bun.spawn([...serverCommand(), "anonymize", "--root", root], { env: cleanEnv(), stdout: "pipe", stderr: "pipe" });
  const progress = join(root, ".anonymize-progress");
  await waitFor("a few shards done", () => proc.exitCode !== null || (existsSync(progress) && readFileSync(progress, "utf8").split("\n").length > 3), 60_000);
  proc.kill("SIGKILL");
  await proc.exited;
  expect(proc.signalCode).toBe("SIGKILL");
  const states = shardsOf(root).map(shardState);
  expect(states).not.toContain("mixed");
  expect(states.filter((state) => state === "new").length).toBeGreaterThanOrEqual(3);
  expect(states).toContain("old");

  const rerun = await runCli(["anonymize", "--root", root], {}, 120_000);
  expect(rerun.exitCode).toBe(0);
  expect(rerun.stdout).toContain("This cannot be undone");
  expect(rerun.stdout).toMatch(/\(\d+ done by an earlier run\)/);
  expect(shardsOf(root).map(shardState).every((state) => state === "new")).toBe(true);
  expect(existsSync(progress)).toBe(false);
  expect(rawAddressesIn(root, cache)).toEqual([]);

  // Served in the hash mode, the answers are the same, and a returning visitor is still one.
  server = await startServer({ root, args: ["--cache-directory", cache, "--ip-mode", "hash"] });
  try {
    expect((await request(`${server.url}/served.example/count`)).body).toEqual(counts);
    expect((await request(`${server.url}/served.example/countries?unique=true`)).body).toEqual(countries);
    await request(`${server.url}/served.example`, { body: { ip: "10.0.0.1", time: `${MONTHS.at(-1)}-02T00:00:00Z` } });
    expect((await request(`${server.url}/served.example/count`)).body).toEqual({ total: counts.total + 1, unique: counts.unique });
    const again = await runCli(["anonymize", "--root", root]);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain("is in use by a running service; stop it first");
  } finally {
    await server.stop();
  }
}, 240_000);

test("erase removes one visitor from every website, in any spelling and by its hash, with the service stopped", async () => {
  const dir = tempDir("ma-erase-");
  const root = join(dir, "dbs");
  const cache = join(dir, "cache");
  const row = (ip: string, time: number): VisitRow => ({ time, event: "pageview", path: "/", ip, platform: "", refererDomain: "", countryCode: "" });
  writeOriginalShard(root, "a.example", "2015-11", [row("8.8.8.8", 1448370000), row("1.1.1.1", 1448370001), row("8.8.8.8:443", 1448370002)]);
  writeOriginalShard(root, "b.example", "2015-12", [row("::ffff:8.8.8.8", 1449000000), row("9.9.9.9", 1449000001)]);
  let server = await startServer({ root, args: ["--cache-directory", cache, "--ip-mode", "hash"] });
  await request(`${server.url}/b.example`, { body: { ip: "8.8.8.8", time: 1449000002 } });
  expect((await request(`${server.url}/a.example/count`)).body).toEqual({ total: 3, unique: 3 });
  const refused = await runCli(["erase", "8.8.8.8", "--root", root]);
  expect(refused.exitCode).toBe(1);
  await server.stop();

  const erased = await runCli(["erase", "8.8.8.8", "--root", root, "--cache-directory", cache]);
  expect(erased.exitCode).toBe(0);
  expect(erased.stdout).toContain("a.example: removed 2 events");
  expect(erased.stdout).toContain("b.example: removed 2 events");
  expect(erased.stdout).toContain("removed 4 events of that visitor from 2 websites");
  expect(existsSync(join(cache, "3", "a.example"))).toBe(false);

  server = await startServer({ root, args: ["--cache-directory", cache, "--ip-mode", "hash"] });
  try {
    expect((await request(`${server.url}/a.example/count`)).body).toEqual({ total: 1, unique: 1 });
    expect((await request(`${server.url}/b.example`)).body.list.map((r: { ip: string }) => r.ip)).toEqual(["9.9.9.9"]);
  } finally {
    await server.stop();
  }
});
