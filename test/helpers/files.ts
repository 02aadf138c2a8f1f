import { Database } from "bun:sqlite";
import { mkdirSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";

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

/** Reads a shard, which a running server may also have open, without writing to it. */
export function inspect<T>(path: string, read: (db: Database) => T): T {
  const db = new Database(path, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
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

/** The contract's table, exactly as the original Go service created it. */
export const ORIGINAL_TABLE =
  "CREATE TABLE visits (time INTEGER, event TEXT, path TEXT, ip TEXT, platform TEXT, refererDomain TEXT, countryCode TEXT)";

/** Creates a shard the way the original service left it: the bare table, rollback journal, no index. */
export function writeOriginalShard(root: string, site: string, month: string, rows: VisitRow[]): string {
  const dir = join(root, site, month);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "analytics.db");
  const db = new Database(path, { create: true });
  try {
    db.run(ORIGINAL_TABLE);
    const insert = db.prepare("INSERT INTO visits (time, event, path, ip, platform, refererDomain, countryCode) VALUES (?, ?, ?, ?, ?, ?, ?)");
    db.transaction(() => {
      for (const r of rows) insert.run(r.time, r.event, r.path, r.ip, r.platform, r.refererDomain, r.countryCode);
    })();
  } finally {
    db.close(true);
  }
  return path;
}
