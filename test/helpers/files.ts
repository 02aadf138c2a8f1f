import { Database } from "bun:sqlite";
import { readdirSync, readlinkSync } from "node:fs";
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
