import { Database } from "bun:sqlite";
import { removeSummary } from "./summary";

/**
 * Rewrites of a shard's `ip` column in place: erasing a visitor's events,
 * replacing addresses by their hashes. Each is one transaction on a
 * connection of its own, so a shard is all old or all new whatever happens
 * in the middle, and each counts itself in the shard's `user_version`, so
 * cached answers made from the old rows are never served again (see
 * shardVersion). The month's summary, which lists the month's addresses, is
 * deleted after; it is rebuilt from the new rows.
 *
 * Old bytes linger after a rewrite unless made not to: `secure_delete`
 * zeroes what a change frees, and a checkpoint then empties the WAL, whose
 * earlier frames hold the rows as they were.
 */
function rewrite<T>(path: string, change: (db: Database) => { changed: number; result: T }, compact: boolean): T {
  const db = new Database(path, { readwrite: true, create: false });
  let outcome: { changed: number; result: T };
  try {
    db.run("PRAGMA busy_timeout = 5000");
    db.run("PRAGMA secure_delete = ON");
    // The temporary table of addresses stays in memory, never in a file.
    db.run("PRAGMA temp_store = MEMORY");
    outcome = db.transaction(() => {
      const done = change(db);
      if (done.changed > 0) {
        const { user_version } = db.prepare("PRAGMA user_version").get() as { user_version: number };
        db.run(`PRAGMA user_version = ${user_version + 1}`);
      }
      return done;
    })();
    // Rebuilt whole, the file keeps no free page, nor slack in a page, with old bytes in it. A shard
    // with nothing rewritten and no free page (done by an earlier run) has nothing to rebuild.
    if (compact && (outcome.changed > 0 || freePages(db) > 0)) db.run("VACUUM");
    db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get();
  } finally {
    db.close(true);
  }
  if (outcome.changed > 0 || compact) removeSummary(path);
  return outcome.result;
}

function freePages(db: Database): number {
  return (db.prepare("PRAGMA freelist_count").get() as { freelist_count: number }).freelist_count;
}

/** The distinct values of the shard's `ip` column (NULLs aside). */
function storedAddresses(db: Database): string[] {
  return (db.prepare("SELECT DISTINCT CAST(ip AS TEXT) FROM visits WHERE ip IS NOT NULL").values() as [string][]).map(([ip]) => ip);
}

/** Loads `rows` into a temporary table of text columns, for a statement to join with; dropped after `use`. */
function withTemporary<T>(db: Database, table: string, columns: string[], rows: string[][], use: () => T): T {
  db.run(`CREATE TEMP TABLE ${table} (${columns.map((c, i) => `${c} TEXT${i === 0 ? " PRIMARY KEY" : ""}`).join(", ")})`);
  try {
    const insert = db.prepare(`INSERT INTO temp.${table} VALUES (${columns.map(() => "?").join(", ")})`);
    for (const row of rows) insert.run(...row);
    insert.finalize();
    return use();
  } finally {
    db.run(`DROP TABLE temp.${table}`);
  }
}

/** Deletes every event whose stored `ip` is one `matches` accepts; answers how many. */
export function eraseAddresses(path: string, matches: (stored: string) => boolean): number {
  return rewrite(
    path,
    (db) => {
      const doomed = storedAddresses(db).filter(matches);
      if (doomed.length === 0) return { changed: 0, result: 0 };
      const changed = withTemporary(db, "doomed", ["ip"], doomed.map((ip) => [ip]), () =>
        db.prepare("DELETE FROM visits WHERE ip IN (SELECT ip FROM temp.doomed)").run().changes,
      );
      return { changed, result: changed };
    },
    false,
  );
}

/**
 * Replaces each stored `ip` that `hash` maps (it answers undefined for a
 * value to leave alone), then compacts the file; answers how many events
 * and distinct values were rewritten.
 */
export function hashAddresses(path: string, hash: (stored: string) => string | undefined): { events: number; addresses: number } {
  return rewrite(
    path,
    (db) => {
      const renames = storedAddresses(db).flatMap((ip) => {
        const hashed = hash(ip);
        return hashed === undefined ? [] : [[ip, hashed]];
      });
      if (renames.length === 0) return { changed: 0, result: { events: 0, addresses: 0 } };
      const events = withTemporary(db, "renames", ["raw", "hashed"], renames, () =>
        db.prepare("UPDATE visits SET ip = r.hashed FROM temp.renames AS r WHERE visits.ip = r.raw").run().changes,
      );
      return { changed: events, result: { events, addresses: renames.length } };
    },
    true,
  );
}

/** What a rewrite would find: every distinct stored value, and how many events each has. */
export function addressCounts(path: string): Map<string, number> {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare("SELECT CAST(ip AS TEXT), COUNT(*) FROM visits WHERE ip IS NOT NULL GROUP BY 1").values() as [string, number][];
    return new Map(rows);
  } finally {
    db.close(true);
  }
}
