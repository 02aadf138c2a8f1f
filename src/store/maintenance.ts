import { Database, SQLiteError } from "bun:sqlite";
import { existsSync } from "node:fs";
import { isDirectory } from "./layout";
import { lockRoot } from "./lock";

/**
 * How a maintenance command (`check`, `backup`) reaches the shards of a root.
 *
 * With no service on the root, the command holds the root's lock for its run
 * and opens shards writable: SQLite then recovers a shard that a killed
 * writer left (rolls back a hot journal, keeps a WAL's committed
 * transactions) exactly as the service would on opening it, and closing the
 * last connection checkpoints the WAL and removes the -wal and -shm files.
 * While a service holds the lock, it has recovered what it opened, and the
 * command only reads.
 */
export type RootAccess = "exclusive" | "shared";

export function accessRoot(root: string): RootAccess {
  try {
    return lockRoot(root) ? "exclusive" : "shared";
  } catch {
    // The lock file cannot be made (a read-only mount of a backup, say): nothing can be recovered there, only read.
    return "shared";
  }
}

/** Close it with `close(true)`, so the files are released (and cleaned up) at once. */
export function openShard(path: string, access: RootAccess): Database {
  return new Database(path, access === "exclusive" ? { readwrite: true, create: false } : { readonly: true });
}

/** Whether opening failed only because the shard must be recovered, which takes a writable connection. */
export function needsRecovery(error: unknown): boolean {
  return error instanceof SQLiteError && (error.code === "SQLITE_READONLY_ROLLBACK" || error.code === "SQLITE_READONLY_RECOVERY");
}

/** Why `root` cannot be read as a database directory, or undefined when it can. */
export function rootProblem(root: string): string | undefined {
  if (!existsSync(root)) return `there is no database directory at ${root}`;
  if (!isDirectory(root)) return `${root} is not a directory; give --root the database directory`;
  return undefined;
}
