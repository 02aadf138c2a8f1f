import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { Shard } from "../../src/store/shard";
import { scratch } from "./cleanup";

/** The paths a process holds open (Linux); a removed file reads as "<path> (deleted)". */
export function openPaths(pid: number): string[] {
  const dir = `/proc/${pid}/fd`;
  const paths: string[] = [];
  for (const fd of readdirSync(dir)) {
    try {
      paths.push(readlinkSync(join(dir, fd)));
    } catch {
      // The descriptor was closed between listing and reading it.
    }
  }
  return paths;
}

/** An open shard file: `analytics.db` itself, not its -wal and -shm companions. */
export const isShardFile = (path: string) => /(^|\/)analytics\.db( \(deleted\))?$/.test(path);

/** Reads a shard, which a running server may also have open, without writing to it. */
export function inspect<T>(path: string, read: (db: Database) => T): T {
  const db = new Database(path, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** SQLite's integrity check of a file: "ok", or what is wrong, a problem a line. */
export function integrity(path: string): string {
  return inspect(path, (db) =>
    db
      .query<{ integrity_check: string }, []>("PRAGMA integrity_check")
      .all()
      .map((row) => row.integrity_check)
      .join("\n"),
  );
}

/** Every `analytics.db` under a root (`<root>/<website>/<YYYY-MM>/analytics.db`), sorted. */
export function shardFiles(root: string): string[] {
  const files: string[] = [];
  for (const website of readdirSync(root, { withFileTypes: true })) {
    if (!website.isDirectory()) continue;
    for (const month of readdirSync(join(root, website.name), { withFileTypes: true })) {
      const file = join(root, website.name, month.name, "analytics.db");
      if (month.isDirectory() && existsSync(file)) files.push(file);
    }
  }
  return files.sort();
}

/** Every file and directory under `dir`, as sorted relative paths (directories end with "/"). */
export function fileTree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((entry) => {
      const path = join(entry.parentPath, entry.name).slice(dir.length + 1);
      return entry.isDirectory() ? `${path}/` : path;
    })
    .sort();
}

/**
 * What changed between two trees, apart from the -wal and -shm files of
 * shards that existed before (SQLite makes and removes those as it reads).
 */
export function treeChanges(before: string[], after: string[]): { added: string[]; removed: string[] } {
  const shards = new Set(before.filter((path) => path.endsWith("analytics.db")));
  const journal = (path: string) => /-(wal|shm)$/.test(path) && shards.has(path.slice(0, -4));
  const had = new Set(before);
  const has = new Set(after);
  return {
    added: after.filter((path) => !had.has(path) && !journal(path)),
    removed: before.filter((path) => !has.has(path) && !journal(path)),
  };
}

/** A row of the contract's `visits` table. */
export interface VisitRow {
  time: number;
  event: string;
  path: string;
  ip: string;
  platform: string;
  refererDomain: string;
  countryCode: string;
}

/** A page view of `ip` at `time` (2015-11-24), with no other field: the row most shard tests need. */
export function pageview(ip: string, time = 1448370000): VisitRow {
  return { time, event: "pageview", path: "/", ip, platform: "", refererDomain: "", countryCode: "" };
}

/** Adds `rows` to the shard open in `db`, in the caller's transaction if any: as another connection's writer would. */
export function insertRows(db: Database, rows: VisitRow[]): void {
  const insert = db.prepare("INSERT INTO visits (time, event, path, ip, platform, refererDomain, countryCode) VALUES (?, ?, ?, ?, ?, ?, ?)");
  for (const r of rows) insert.run(r.time, r.event, r.path, r.ip, r.platform, r.refererDomain, r.countryCode);
}

/** The contract's table, exactly as the original Go service created it. */
export const ORIGINAL_TABLE =
  "CREATE TABLE visits (time INTEGER, event TEXT, path TEXT, ip TEXT, platform TEXT, refererDomain TEXT, countryCode TEXT)";

/**
 * Creates a shard the way the original service left it: the bare table,
 * rollback journal, no index. Also the quick way to seed a root with a known
 * state before a service first starts on it.
 */
export function writeOriginalShard(root: string, site: string, month: string, rows: VisitRow[]): string {
  const dir = join(root, site, month);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "analytics.db");
  const db = new Database(path, { create: true });
  try {
    db.run(ORIGINAL_TABLE);
    db.transaction(() => insertRows(db, rows))();
  } finally {
    db.close(true);
  }
  return path;
}

/** A month as the service keeps it (WAL, its index), in a scratch directory, holding `rows`. */
export function writeServiceShard(rows: VisitRow[]): string {
  const path = join(scratch(), "site", "2015-11", "analytics.db");
  const shard = Shard.open(path, true, "normal");
  shard.insert([rows.map((r) => ({ ...r }))]);
  shard.close();
  return path;
}

/** The `ip` of every row of a shard, by rowid. */
export const storedIps = (path: string): string[] =>
  inspect(path, (db) => db.query<{ ip: string }, []>("SELECT ip FROM visits ORDER BY rowid").all().map((r) => r.ip));
