import { Database } from "bun:sqlite";
import { rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { shardSignature } from "./shard-reader";
import { fold } from "./summary-fold";
import { fromBlob, SUMMARY_FILE, SUMMARY_FORMAT, SUMMARY_SCHEMA } from "./summary-format";

/** The events of one group, and (when asked for) its visitors as a set of the month's ids. */
export interface VisitorSet {
  hits: number;
  ids?: Uint32Array;
}

export interface ValueSet extends VisitorSet {
  value: string;
}

export interface DaySet extends ValueSet {
  day: number;
}

export interface KeyedSet extends VisitorSet {
  key: string | number;
}

export interface OpenOptions {
  /** Fold at most this many of the shard's new rows (the rest stay for the next open). */
  maxRows?: number;
  /**
   * The summary was found to agree with its shard earlier in this process,
   * whose writer only appends: rows need not be counted again to trust it.
   */
  trusted?: boolean;
}

/**
 * A month's distinct visitors, per value of each grouping, for the whole
 * month and for each day. A busy month has a million events but some tens
 * of thousands of visitors: exact unique counts read these sets instead of
 * the rows, and merge them across months (see modules/query/visitor-space).
 *
 * The summary follows its shard by rowid: rows are only ever appended, so the
 * rows after the watermark are folded in before each use, which keeps a live
 * month current at the cost of its new rows only, and takes a backfill into
 * an old month in. Reads see the shard as of the watermark, so sets and rows
 * agree. It lives in a file of its own, written only by the query worker, so
 * building it never holds the lock the writer needs. Being derived, a
 * summary that cannot be read is deleted and built again.
 *
 * A summary never answers for rows that are not in its shard. A shard
 * changed behind the service's back (a backup copied over it in place, rows
 * deleted with sqlite3 while the service was stopped) is found out on open:
 * its highest rowid is below the watermark, or its rows up to the watermark
 * are not as many as were folded. Counting them costs some milliseconds a
 * million rows, so it is done once per process, and not even then when the
 * shard's files are as they were (inode, size and times) when it last held.
 * Such a summary is deleted, file and all (so nothing of the rows removed
 * stays in it), and built again.
 */
export class MonthSummary {
  private constructor(
    private readonly db: Database,
    private readonly watermark: number,
    /** Whether every row of the shard is folded in (see `maxRows`). */
    readonly caughtUp: boolean,
    /** The shard as this summary saw it: inode, rewrite count, watermark and rows (see shardVersion). */
    readonly version: string,
  ) {}

  /**
   * Opens (or builds) the summary beside `shardPath`, brought up to the
   * shard's last row, or by `maxRows` of its new rows at most.
   */
  static open(shardPath: string, options: OpenOptions = {}): MonthSummary {
    try {
      return MonthSummary.openAt(shardPath, options);
    } catch {
      removeSummary(shardPath);
      return MonthSummary.openAt(shardPath, options);
    }
  }

  private static openAt(shardPath: string, { maxRows = Infinity, trusted = false }: OpenOptions): MonthSummary {
    const db = new Database(join(dirname(shardPath), SUMMARY_FILE), { create: true, strict: true });
    try {
      // Derived data: a summary lost to a crash is rebuilt, so no fsync is owed.
      db.run("PRAGMA synchronous = OFF");
      db.run("PRAGMA busy_timeout = 5000");
      if (db.query<{ user_version: number }, []>("PRAGMA user_version").get()!.user_version !== SUMMARY_FORMAT) {
        if (db.query("SELECT 1 FROM sqlite_schema").get()) throw new Error("a summary of another format");
        db.exec(SUMMARY_SCHEMA);
      }
      // Read before the shard is, so a change made while it is read shows at the next open.
      const signature = shardSignature(shardPath);
      db.query("ATTACH ?1 AS shard").run(shardPath);
      const rewrites = db.query<{ user_version: number }, []>("PRAGMA shard.user_version").get()!.user_version;
      const source = `${statSync(shardPath).ino}:${rewrites}`;
      if (disagrees(db, source, trusted, signature.text)) {
        db.close(true);
        removeSummary(shardPath);
        return MonthSummary.openAt(shardPath, { maxRows, trusted: true });
      }
      const { watermark, top, rows } = bringUpToDate(db, source, maxRows);
      const checked = signature.settled ? signature.text : "";
      db.query("UPDATE meta SET checked = ?1 WHERE checked <> ?1").run(checked);
      return new MonthSummary(db, watermark, watermark >= top, `${source}:${watermark}:${rows}`);
    } catch (error) {
      db.close(true);
      throw error;
    }
  }

  /** Sets of the whole month, one for each value of dimension `dim`. */
  monthSets(dim: number, withIds: boolean): ValueSet[] {
    const rows = this.db
      .query<{ value: string; hits: number; ids?: Uint8Array }, [number]>(
        `SELECT value, hits${withIds ? ", ids" : ""} FROM month_sets WHERE dim = ?1`,
      )
      .all(dim);
    return rows.map(({ value, hits, ids }) => ({ value, hits, ids: ids && fromBlob(ids) }));
  }

  /** Sets of the UTC days that start from `firstDay` to `lastDay`, one for each day and value of `dim`. */
  daySets(dim: number, firstDay: number, lastDay: number, withIds: boolean): DaySet[] {
    const rows = this.db
      .query<{ day: number; value: string; hits: number; ids?: Uint8Array }, [number, number, number]>(
        `SELECT day, value, hits${withIds ? ", ids" : ""} FROM day_sets WHERE dim = ?1 AND day >= ?2 AND day <= ?3`,
      )
      .all(dim, firstDay, lastDay);
    return rows.map(({ day, value, hits, ids }) => ({ day, value, hits, ids: ids && fromBlob(ids) }));
  }

  /**
   * Sets from the shard's rows between `start` and `end` (inclusive), grouped
   * by `key`, an SQL expression over `visits` in which `?3` is `interval`.
   */
  rowSets(key: string, interval: number, start: number, end: number, withIds: boolean): KeyedSet[] {
    const range = "rowid <= ?4 AND time >= ?1 AND time <= ?2";
    const params: [number, number, number, number] = [start, end, interval, this.watermark];
    if (!withIds) {
      return this.db
        .query<{ key: string | number; hits: number }, typeof params>(
          `SELECT ${key} AS key, COUNT(*) AS hits FROM shard.visits WHERE ${range} GROUP BY 1`,
        )
        .all(...params);
    }
    // Grouped by ip before the join, so each distinct (key, ip) is looked up once, not each row.
    const pairs = this.db
      .query<unknown, typeof params>(
        `SELECT g.key, v.id, g.hits FROM (
           SELECT ${key} AS key, CAST(IFNULL(ip, '') AS TEXT) AS ip, COUNT(*) AS hits
           FROM shard.visits WHERE ${range} GROUP BY 1, 2) AS g
         JOIN visitors AS v ON v.ip = g.ip`,
      )
      .values(...params) as [string | number, number, number][];
    return keyedSets(pairs);
  }

  /** Each visitor's ip, at the index of its id, to put the visitors of several months in one space. */
  visitors(): string[] {
    const ips: string[] = [];
    const rows = this.db.query("SELECT id, ip FROM visitors").values() as [number, string][];
    for (const [id, ip] of rows) ips[id] = ip;
    return ips;
  }

  /** One more than the highest id: the sets' ids lie below it. */
  idBound(): number {
    return this.db.query<{ top: number }, []>("SELECT IFNULL(max(id), 0) + 1 AS top FROM visitors").get()!.top;
  }

  /** Releases the files now (see Shard.close). */
  close(): void {
    this.db.close(true);
  }
}

/** Sets from rows grouped by key and visitor: (key, visitor id, events). */
export function keyedSets(pairs: Iterable<readonly [string | number, number, number]>): KeyedSet[] {
  const sets = new Map<string | number, { hits: number; ids: number[] }>();
  for (const [key, id, hits] of pairs) {
    let set = sets.get(key);
    if (!set) sets.set(key, (set = { hits: 0, ids: [] }));
    set.hits += hits;
    set.ids.push(id);
  }
  return Array.from(sets, ([key, { hits, ids }]) => ({ key, hits, ids: Uint32Array.from(ids) }));
}

/**
 * Whether the summary was made from another file at this path, from before
 * a rewrite in place, or counted rows that are no longer in the shard: a
 * highest rowid below its watermark, or (unless `trusted`, or the files are
 * as they were when it last agreed) another number of rows up to the
 * watermark. A new summary agrees with anything.
 */
function disagrees(db: Database, source: string, trusted: boolean, signature: string): boolean {
  const meta = db.query<{ source: string; watermark: number; rows: number; checked: string }, []>("SELECT * FROM meta").get();
  if (!meta) return false;
  if (meta.source !== source) return true;
  const top = db.query<{ top: number }, []>("SELECT IFNULL(max(rowid), 0) AS top FROM shard.visits").get()!.top;
  if (top < meta.watermark) return true;
  if (trusted || meta.checked === signature) return false;
  return db.transaction(() => {
    const all = db.query<{ n: number }, []>("SELECT count(*) AS n FROM shard.visits").get()!.n;
    const after = db.query<{ n: number }, [number]>("SELECT count(*) AS n FROM shard.visits WHERE rowid > ?1").get(meta.watermark)!.n;
    return all - after !== meta.rows;
  })();
}

/** Folds in the shard's new rows, `maxRows` at most; a new summary starts from the first. */
function bringUpToDate(db: Database, source: string, maxRows: number): { watermark: number; top: number; rows: number } {
  const meta = db.query<{ watermark: number }, []>("SELECT watermark FROM meta").get();
  if (!meta) db.query("INSERT INTO meta (source, watermark, rows, checked) VALUES (?1, 0, 0, '')").run(source);
  const from = meta?.watermark ?? 0;
  const top = db.query<{ top: number }, []>("SELECT IFNULL(max(rowid), 0) AS top FROM shard.visits").get()!.top;
  const watermark = Math.min(top, from + maxRows);
  if (watermark > from) fold(db, from, watermark);
  const { rows } = db.query<{ rows: number }, []>("SELECT rows FROM meta").get()!;
  return { watermark: Math.max(watermark, from), top, rows };
}

/** Deletes the summary beside `shardPath`: when its shard is rewritten in place, or it cannot be read. */
export function removeSummary(shardPath: string): void {
  const path = join(dirname(shardPath), SUMMARY_FILE);
  for (const suffix of ["", "-journal", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
}
