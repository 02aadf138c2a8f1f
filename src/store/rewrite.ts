import { Database } from "bun:sqlite";
import { removeSummary } from "./summary";

/**
 * Rewrites of a shard's `ip` column in place: erasing a visitor's events,
 * replacing addresses by their hashes. Each change is one transaction on a
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
function openForRewrite(path: string): Database {
  const db = new Database(path, { readwrite: true, create: false });
  try {
    db.run("PRAGMA busy_timeout = 5000");
    db.run("PRAGMA secure_delete = ON");
    // The temporary table of addresses stays in memory, never in a file.
    db.run("PRAGMA temp_store = MEMORY");
    return db;
  } catch (error) {
    db.close(true);
    throw error;
  }
}

/** Runs `change` in one write transaction, counted in `user_version` when it changed rows. */
function commitChange<T>(db: Database, change: () => { changed: number; result: T }): { changed: number; result: T } {
  return db.transaction(() => {
    const done = change();
    if (done.changed > 0) {
      const { user_version } = db.prepare("PRAGMA user_version").get() as { user_version: number };
      db.run(`PRAGMA user_version = ${user_version + 1}`);
    }
    return done;
  }).immediate();
}

/**
 * After a change: the file compacted, the WAL emptied, the connection closed,
 * the summary gone. Compacting is what clears old bytes for good: an UPDATE
 * under `secure_delete` still leaves pieces of the rows as they were in the
 * slack of the pages it rebuilt. `always`: compact even when nothing changed
 * now, for a shard an earlier run may have changed without compacting.
 */
function settle(db: Database, path: string, changed: number, always: boolean): void {
  try {
    // Rebuilt whole, the file keeps no free page, nor slack in a page, with old bytes in it. Otherwise
    // a shard with nothing rewritten and no free page has nothing to rebuild.
    if (always || changed > 0 || freePages(db) > 0) db.run("VACUUM");
    db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get();
  } finally {
    db.close(true);
    // Even when the checkpoint failed: the rows may have changed, and the summary lists them as they were.
    removeSummary(path);
  }
}

function rewrite<T>(path: string, change: (db: Database) => { changed: number; result: T }, compactAlways: boolean): T {
  const db = openForRewrite(path);
  let outcome: { changed: number; result: T };
  try {
    outcome = commitChange(db, () => change(db));
  } catch (error) {
    db.close(true);
    throw error;
  }
  settle(db, path, outcome.changed, compactAlways);
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

/**
 * Erasing a visitor from one shard, in two steps, so that the scan, which
 * reads every row (there is no index on `ip`: a second or so a million
 * rows), holds up no write: `scan` finds the visitor's rows in a read
 * transaction, which in WAL mode blocks no writer, and `commit` deletes
 * them in one write transaction, with the visitor's rows added since the
 * scan (found by rowid, past the last the scan saw): milliseconds for a
 * visitor's few events (a visitor with tens of thousands spread over the
 * month makes it rewrite most pages: about a second). The caller keeps
 * other writes to the shard waiting during `commit` only (a writer meeting
 * the lock would wait in SQLite's busy handler, on its own thread), so the
 * commit sees every row the shard has until it is done.
 */
export class ShardErasure {
  private constructor(
    private readonly db: Database,
    private readonly path: string,
    private readonly matches: (stored: string) => boolean,
    /** The visitor's stored values, and the rows holding them, as the scan saw the shard. */
    private readonly values: Set<string>,
    private readonly rowids: number[],
    /** The highest rowid the scan saw: a row added after has a higher one (SQLite takes the highest plus one). */
    private readonly lastRowid: number,
  ) {}

  /**
   * Finds the rows whose stored `ip` is one `matches` accepts, leaving no
   * transaction open. `live`: the service writes to the shard meanwhile, so
   * a shard still in the original's rollback journal is put in WAL mode
   * first, as the writer does when it opens one; there, a reader would keep
   * the writer's commits waiting.
   */
  static scan(path: string, matches: (stored: string) => boolean, live: boolean): ShardErasure {
    const db = openForRewrite(path);
    try {
      if (live) db.run("PRAGMA journal_mode = WAL");
      const found = db.transaction(() => {
        const { last } = db.prepare("SELECT COALESCE(MAX(rowid), 0) AS last FROM visits").get() as { last: number };
        const values = storedAddresses(db).filter(matches);
        if (values.length === 0) return { values, rowids: [], last };
        const rowids = db.prepare("SELECT rowid FROM visits WHERE CAST(ip AS TEXT) IN (SELECT value FROM json_each(?1))").values(JSON.stringify(values)) as [number][];
        return { values, rowids: rowids.map(([rowid]) => rowid), last };
      })();
      return new ShardErasure(db, path, matches, new Set(found.values), found.rowids, found.last);
    } catch (error) {
      db.close(true);
      throw error;
    }
  }

  /** How many events the scan found. */
  get found(): number {
    return this.rowids.length;
  }

  /**
   * Deletes the rows found, and the visitor's rows added since the scan, in
   * one transaction, then empties the WAL and deletes the summary; answers
   * how many went. A row the scan found is deleted only if it still holds
   * one of the visitor's values, so a rowid that came to mean another row
   * could never take it.
   */
  commit(): number {
    let changed = 0;
    try {
      ({ changed } = commitChange(this.db, () => {
        const values = new Set(this.values);
        const rowids = [...this.rowids];
        const added = this.db.prepare("SELECT rowid, CAST(ip AS TEXT) FROM visits WHERE rowid > ?1 AND ip IS NOT NULL").values(this.lastRowid) as [number, string][];
        for (const [rowid, ip] of added) {
          if (!values.has(ip) && !this.matches(ip)) continue;
          values.add(ip);
          rowids.push(rowid);
        }
        if (rowids.length === 0) return { changed: 0, result: undefined };
        const deleted = this.db
          .prepare("DELETE FROM visits WHERE rowid IN (SELECT value FROM json_each(?1)) AND CAST(ip AS TEXT) IN (SELECT value FROM json_each(?2))")
          .run(JSON.stringify(rowids), JSON.stringify([...values])).changes;
        return { changed: deleted, result: undefined };
      }));
    } catch (error) {
      this.db.close(true);
      throw error;
    }
    if (changed === 0) this.db.close(true);
    else settle(this.db, this.path, changed, false);
    return changed;
  }

  /** Leaves the shard as it is (the erasure did not go on to its commit). */
  close(): void {
    this.db.close(true);
  }
}

/** Deletes every event whose stored `ip` is one `matches` accepts, in a root nothing else writes to (its lock is held); answers how many. */
export function eraseAddresses(path: string, matches: (stored: string) => boolean): number {
  return ShardErasure.scan(path, matches, false).commit();
}

/**
 * Replaces each stored `ip` that `hash` maps (it answers undefined for a
 * value to leave alone), then compacts the file (when nothing changed, only
 * if it has free pages or `compactAlways`); answers how many events and
 * distinct values were rewritten.
 */
export function hashAddresses(path: string, hash: (stored: string) => string | undefined, compactAlways: boolean): { events: number; addresses: number } {
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
    compactAlways,
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
