import type { Database } from "bun:sqlite";

/**
 * The table is the contract's and the original's, column for column, so a data
 * directory of the original is served as it is. Indexes are ours and are added
 * on open, which upgrades such a directory in place.
 */
export function applySchema(db: Database): void {
  db.run("PRAGMA journal_mode = WAL");
  // NORMAL in WAL mode: a committed transaction survives the process being killed.
  db.run("PRAGMA synchronous = NORMAL");
  db.run("PRAGMA busy_timeout = 5000");
  db.run(
    `CREATE TABLE IF NOT EXISTS visits (time INTEGER, event TEXT, path TEXT, ip TEXT,
       platform TEXT, refererDomain TEXT, countryCode TEXT)`,
  );
  db.run("CREATE INDEX IF NOT EXISTS visits_time ON visits (time)");
}
