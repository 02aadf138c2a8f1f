import { Database } from "bun:sqlite";
import { rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { type Dimension, matchSql, type ValueMatch } from "./dimensions";
import { monthBounds } from "./layout";
import { type Chunk, CHUNK_ROWS, type ColumnName, decodeColumn, joinIps, type MonthColumns, splitIps, type VisitorIps } from "./month-columns";
import { type FileSignature, ShardReader, shardSignature } from "./shard-reader";
import { fold } from "./summary-fold";
import { decodeSet, type SetIds, SUMMARY_FILE, SUMMARY_FORMAT, SUMMARY_SCHEMA } from "./summary-format";

/**
 * The events of one value, and (when asked for) its visitors as a set of
 * the month's ids: `size` of them, decoded when `ids` is first read (a
 * group that only one set answers needs its size alone).
 */
export class ValueSet {
  private decoded: SetIds | undefined;

  constructor(
    readonly value: string,
    readonly hits: number,
    readonly size: number | undefined,
    private readonly blob: Uint8Array | undefined,
  ) {}

  get ids(): SetIds | undefined {
    if (!this.blob) return undefined;
    return (this.decoded ??= decodeSet(this.blob, this.size!));
  }
}

export class DaySet extends ValueSet {
  constructor(
    readonly day: number,
    value: string,
    hits: number,
    size: number | undefined,
    blob: Uint8Array | undefined,
  ) {
    super(value, hits, size, blob);
  }
}

/** Bytes of a summary file read through a memory mapping; beyond them, through SQLite's page cache. */
const MAPPED_BYTES = 256 * 1024 * 1024;

/** What a summary knows of its shard without reading it. */
export interface MonthFacts {
  /** The shard as the summary saw it: inode, rewrite count, watermark and rows (see TransientShards.version). */
  version: string;
  rows: number;
  /** The earliest and latest event (Unix seconds); null when there is none. */
  firstTime: number | null;
  lastTime: number | null;
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

interface Meta {
  source: string;
  generation: string;
  watermark: number;
  rows: number;
  checked: string;
  first_time: number | null;
  last_time: number | null;
}

/**
 * A month's distinct visitors, per value of each dimension (and for all
 * events), for the whole month and for each day; and the month's rows as
 * columns of ids. A busy month has a million events but some tens of
 * thousands of visitors: exact unique counts read these sets instead of the
 * rows, and merge them across months (see modules/query/visitor-space);
 * what sets cannot answer, the columns do (see modules/query/scan).
 *
 * The summary follows its shard by rowid: rows are only ever appended, so the
 * rows after the watermark are folded in before each use, which keeps a live
 * month current at the cost of its new rows only, and takes a backfill into
 * an old month in. Reads see the shard as of the watermark, so sets and
 * columns agree. It lives in a file of its own, written only by the query
 * worker, which reads the shard read-only, so building it never holds the
 * lock the writer needs. Being derived, a summary that cannot be read is
 * deleted and built again.
 *
 * A summary never answers for rows that are not in its shard. A shard
 * changed behind the service's back (a backup copied over it in place, rows
 * deleted with sqlite3 while the service was stopped) is found out on open:
 * its highest rowid is below the watermark, or its rows up to the watermark
 * are not as many as were folded. Counting them costs some milliseconds a
 * million rows, so it is done once per process, and not even then when the
 * shard's files are as they were (inode, size and times) when it last held:
 * the shard is then not even opened, since it has nothing new either.
 * Such a summary is deleted, file and all (so nothing of the rows removed
 * stays in it), and built again.
 */
export class MonthSummary implements MonthColumns {
  /** Each dimension's values, once read. */
  private readonly dictionaries = new Map<Dimension, string[]>();

  private constructor(
    private readonly db: Database,
    readonly base: number,
    /** Whether every row of the shard is folded in (see `maxRows`). */
    readonly caughtUp: boolean,
    readonly facts: MonthFacts,
    /** The shard's files as they were before it was read: `facts` hold for them, when caught up. */
    readonly signature: FileSignature,
    /** Drawn when the file was made: a summary built again has another, and its ids stand for other visitors. */
    readonly generation: string,
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
    let shard: ShardReader | undefined;
    try {
      // Derived data: a summary lost to a crash is rebuilt, so no fsync is owed.
      db.run("PRAGMA synchronous = OFF");
      db.run("PRAGMA busy_timeout = 5000");
      // Read through a mapping: a cold year-long breakdown reads 24,000 sets in chains of
      // overflow pages, with a third less CPU than through SQLite's page cache.
      db.run(`PRAGMA mmap_size = ${MAPPED_BYTES}`);
      if (db.query<{ user_version: number }, []>("PRAGMA user_version").get()!.user_version !== SUMMARY_FORMAT) {
        if (db.query("SELECT 1 FROM sqlite_schema").get()) throw new Error("a summary of another format");
        db.exec(SUMMARY_SCHEMA);
      }
      // Read before the shard is, so a change made while it is read shows at the next open.
      const signature = shardSignature(shardPath);
      const month = monthBounds(basename(dirname(shardPath)));
      const meta = db.query<Meta, []>("SELECT * FROM meta").get();
      // The shard's files are as they were when every row of it was folded in: nothing to read there.
      if (meta && meta.checked === signature.text) return new MonthSummary(db, month.first, true, factsOf(meta), signature, meta.generation);
      shard = ShardReader.open(shardPath);
      const source = `${signature.inode}:${shard.rewrites()}`;
      const top = shard.top();
      if (meta && disagrees(meta, shard, source, top, trusted)) {
        shard.close();
        db.close(true);
        removeSummary(shardPath);
        return MonthSummary.openAt(shardPath, { maxRows, trusted: true });
      }
      if (!meta) db.query("INSERT INTO meta (source, watermark, rows, checked, generation) VALUES (?1, 0, 0, '', ?2)").run(source, crypto.randomUUID());
      const from = meta?.watermark ?? 0;
      const watermark = Math.min(top, from + maxRows);
      if (watermark > from) fold(db, shard, month, from, watermark);
      const caughtUp = watermark >= top;
      db.query("UPDATE meta SET checked = ?1 WHERE checked <> ?1").run(caughtUp && signature.settled ? signature.text : "");
      const now = db.query<Meta, []>("SELECT * FROM meta").get()!;
      return new MonthSummary(db, month.first, caughtUp, factsOf(now), signature, now.generation);
    } catch (error) {
      db.close(true);
      throw error;
    } finally {
      shard?.close();
    }
  }

  /** Sets of the whole month, one for each value of `dim` (a dimension, or ALL_EVENTS) that `match` keeps (all without one). */
  monthSets(dim: string, withIds: boolean, match?: ValueMatch): ValueSet[] {
    const params: string[] = [dim];
    const kept = match ? `AND ${matchSql("value", match, (value) => `?${params.push(value)}`)}` : "";
    const rows = this.db
      .query<{ value: string; hits: number; visitors: number; ids?: Uint8Array }, string[]>(
        `SELECT value, hits, visitors${withIds ? ", ids" : ""} FROM month_sets WHERE dim = ?1 ${kept}`,
      )
      .all(...params);
    return rows.map(({ value, hits, visitors, ids }) => new ValueSet(value, hits, ids && visitors, ids));
  }

  /** Sets of the UTC days that start from `firstDay` to `lastDay`, one for each day and value of `dim` that `match` keeps. */
  daySets(dim: string, firstDay: number, lastDay: number, withIds: boolean, match?: ValueMatch): DaySet[] {
    const params: (string | number)[] = [dim, firstDay, lastDay];
    const kept = match ? `AND ${matchSql("value", match, (value) => `?${params.push(value)}`)}` : "";
    const rows = this.db
      .query<{ day: number; value: string; hits: number; visitors: number; ids?: Uint8Array }, (string | number)[]>(
        `SELECT day, value, hits, visitors${withIds ? ", ids" : ""} FROM day_sets WHERE dim = ?1 AND day >= ?2 AND day <= ?3 ${kept}`,
      )
      .all(...params);
    return rows.map(({ day, value, hits, visitors, ids }) => new DaySet(day, value, hits, ids && visitors, ids));
  }

  values(dimension: Dimension): string[] {
    let values = this.dictionaries.get(dimension);
    if (values) return values;
    values = [];
    for (const [id, value] of this.db.query("SELECT id, value FROM dim_values WHERE dim = ?1").values(dimension) as [number, string][]) {
      values[id] = value;
    }
    this.dictionaries.set(dimension, values);
    return values;
  }

  visitors(from = 1): VisitorIps {
    // One BLOB of every ip, in id order, joined by NULs (which no event's field may hold): far cheaper than a row each.
    const { ips, count, low, high } = this.db
      .query<{ ips: Uint8Array | null; count: number; low: number | null; high: number | null }, [number]>(
        `SELECT CAST(group_concat(ip, char(0)) AS BLOB) AS ips, count(*) AS count, min(id) AS low, max(id) AS high
         FROM (SELECT id, ip FROM visitors WHERE id >= ?1 ORDER BY id)`,
      )
      .get(from)!;
    if (count === 0) return joinIps([]);
    const split = low === from && high === from + count - 1 ? splitIps(ips!, count) : undefined;
    if (split) return split;
    // Ids are given one after another, so a missing one (which would stand for no ip) or an ip holding a NUL is not expected.
    const byId: string[] = new Array(high! - from + 1).fill("");
    for (const [id, ip] of this.db.query("SELECT id, ip FROM visitors WHERE id >= ?1").values(from) as [number, string][]) byId[id - from] = ip;
    return joinIps(byId);
  }

  idBound(): number {
    return this.db.query<{ top: number }, []>("SELECT IFNULL(max(id), 0) + 1 AS top FROM visitors").get()!.top;
  }

  chunks(from: number, to: number): Chunk[] {
    const chunks = this.db
      .query<{ chunk: number; rows: number; first_time: number; last_time: number }, [number, number]>(
        "SELECT chunk, rows, first_time, last_time FROM chunks WHERE last_time >= ?1 AND first_time <= ?2 ORDER BY chunk",
      )
      .all(from, to);
    const readColumn = this.db.query<{ data: Uint8Array }, [string, number]>("SELECT data FROM columns WHERE name = ?1 AND chunk = ?2");
    // One array a column, reused from chunk to chunk; the chunk that last read it is held to know when it is current.
    const scratch = new Map<ColumnName, { ids: Uint32Array; chunk: number }>();
    return chunks.map(({ chunk, rows, first_time, last_time }) => ({
      rows,
      firstTime: first_time,
      lastTime: last_time,
      column: (name: ColumnName) => {
        let held = scratch.get(name);
        if (held?.chunk === chunk) return held.ids;
        const ids = decodeColumn(readColumn.get(name, chunk)!.data, rows, held?.ids.buffer.byteLength === CHUNK_ROWS * 4 ? held.ids : new Uint32Array(CHUNK_ROWS));
        scratch.set(name, (held = { ids, chunk }));
        return ids;
      },
    }));
  }

  /** Releases the file now (see Shard.close). */
  close(): void {
    this.db.close(true);
  }
}

function factsOf(meta: Meta): MonthFacts {
  return { version: `${meta.source}:${meta.watermark}:${meta.rows}`, rows: meta.rows, firstTime: meta.first_time, lastTime: meta.last_time };
}

/**
 * Whether the summary counted rows that are no longer in the shard, or was
 * made from another file at this path, or from before a rewrite in place:
 * a highest rowid below its watermark, or (unless `trusted`) another number
 * of rows up to the watermark.
 */
function disagrees(meta: Meta, shard: ShardReader, source: string, top: number, trusted: boolean): boolean {
  if (meta.source !== source || top < meta.watermark) return true;
  return !trusted && shard.rowsUpTo(meta.watermark) !== meta.rows;
}

/** Deletes the summary beside `shardPath`: when its shard is rewritten in place, or it cannot be read. */
export function removeSummary(shardPath: string): void {
  const path = join(dirname(shardPath), SUMMARY_FILE);
  for (const suffix of ["", "-journal", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
}
