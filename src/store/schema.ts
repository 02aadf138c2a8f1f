import type { Database } from "bun:sqlite";

/**
 * The table is the contract's and the original's, column for column, so a data
 * directory of the original is served as it is. Indexes are ours and are added
 * on open, which upgrades such a directory in place.
 */
export type SyncMode = "normal" | "full";

/**
 * In WAL mode, NORMAL makes a committed transaction survive the process being
 * killed; FULL also survives power loss, at several times the cost per commit.
 */
export function applySchema(db: Database, sync: SyncMode): void {
  // First: even switching to WAL waits for a lock, which the query worker
  // may hold for a moment (recovering a WAL after a crash, say).
  db.run("PRAGMA busy_timeout = 5000");
  db.run("PRAGMA journal_mode = WAL");
  db.run(`PRAGMA synchronous = ${sync === "full" ? "FULL" : "NORMAL"}`);
  // Checkpoints are the Checkpointer's job; this is only the backstop (about 40 MB of WAL).
  db.run("PRAGMA wal_autocheckpoint = 10000");
  db.run(
    `CREATE TABLE IF NOT EXISTS visits (time INTEGER, event TEXT, path TEXT, ip TEXT,
       platform TEXT, refererDomain TEXT, countryCode TEXT)`,
  );
  db.run("CREATE INDEX IF NOT EXISTS visits_time ON visits (time)");
}
