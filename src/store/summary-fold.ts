import type { Database } from "bun:sqlite";
import { DIMENSION_NAMES, type Dimension } from "./dimensions";
import { CHUNK_ROWS, COLUMN_NAMES, type ColumnsBuilder, decodeColumn, encodeColumn, type IdSource, type MonthSpan, readColumns } from "./month-columns";
import type { ShardReader } from "./shard-reader";
import { ALL_EVENTS, DAY, decodeSet, encodeSet } from "./summary-format";
import { groupVisitors } from "./visitor-sets";

/** Rows folded in one transaction: bounds a first build's memory, and a build cut short keeps what it did. */
export const FOLD_ROWS = 100_000;

/**
 * Adds the shard's rows after `watermark`, up to `top`, to the summary:
 * each row's visitor and values get the month's ids, the row joins the
 * sets of its month and its day under each dimension, and its ids are
 * appended to the columns. Each chunk is one transaction that also moves
 * the watermark.
 */
export function fold(db: Database, shard: ShardReader, month: MonthSpan, watermark: number, top: number): void {
  const ids = new MonthIds(db);
  for (let from = watermark; from < top; from += FOLD_ROWS) {
    const to = Math.min(top, from + FOLD_ROWS);
    db.transaction(() => {
      const rows = readColumns(shard, month, ids, "rowid > ?1 AND rowid <= ?2", from, to);
      for (const dim of [ALL_EVENTS, ...DIMENSION_NAMES]) addSets(db, rows, ids, dim);
      appendColumns(db, rows);
      db.query(
        `UPDATE meta SET watermark = ?1, rows = rows + ?2,
           first_time = min(IFNULL(first_time, ?3), ?3), last_time = max(IFNULL(last_time, ?4), ?4)`,
      ).run(to, rows.rows, rows.rows ? rows.firstTime : null, rows.rows ? rows.lastTime : null);
    })();
    // A whole chunk leaves some hundred MB of short-lived rows and arrays. Left
    // to its own pace the collector let a month's build reach 320 MB of RSS;
    // collected here, 160 MB, for a few per cent more time.
    if (to - from === FOLD_ROWS) Bun.gc(true);
  }
}

/** The rows' sets of the month and of each day, under `dim`, merged into those stored. */
function addSets(db: Database, rows: ColumnsBuilder, ids: MonthIds, dim: string): void {
  if (rows.rows === 0) return;
  const values = dim === ALL_EVENTS ? undefined : rows.column(dim as Dimension);
  const valueCount = values ? ids.count(dim as Dimension) : 1;
  const valueOf = (id: number) => (values ? ids.text(dim as Dimension, id) : "");
  const visitors = rows.column("visitor");
  const idBound = ids.idBound();

  const month = groupVisitors(values ?? new Uint32Array(rows.rows), visitors, valueCount, idBound);
  const readMonth = db.query<Stored, [string, string]>("SELECT hits, visitors, ids FROM month_sets WHERE dim = ?1 AND value = ?2");
  const writeMonth = db.query(
    `INSERT INTO month_sets (dim, value, hits, visitors, ids) VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT (dim, value) DO UPDATE SET hits = excluded.hits, visitors = excluded.visitors, ids = excluded.ids`,
  );
  for (let id = 0; id < valueCount; id++) {
    if (month.hits[id] === 0) continue;
    const value = valueOf(id);
    const merged = merge(readMonth.get(dim, value), month.hits[id]!, month.ids!(id));
    writeMonth.run(dim, value, merged.hits, merged.visitors, merged.ids);
  }

  // Days by their index in the month, from the first this chunk has.
  const times = rows.column("time");
  const firstDay = Math.floor((rows.firstTime - rows.base) / DAY);
  const days = Math.floor((rows.lastTime - rows.base) / DAY) - firstDay + 1;
  const groupOf = new Uint32Array(rows.rows);
  for (let i = 0; i < rows.rows; i++) groupOf[i] = (Math.floor(times[i]! / DAY) - firstDay) * valueCount + (values ? values[i]! : 0);
  const byDay = groupVisitors(groupOf, visitors, days * valueCount, idBound);
  const readDay = db.query<Stored, [string, number, string]>("SELECT hits, visitors, ids FROM day_sets WHERE dim = ?1 AND day = ?2 AND value = ?3");
  const writeDay = db.query(
    `INSERT INTO day_sets (dim, day, value, hits, visitors, ids) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
     ON CONFLICT (dim, day, value) DO UPDATE SET hits = excluded.hits, visitors = excluded.visitors, ids = excluded.ids`,
  );
  for (let group = 0; group < days * valueCount; group++) {
    if (byDay.hits[group] === 0) continue;
    const day = rows.base + (firstDay + Math.floor(group / valueCount)) * DAY;
    const value = valueOf(group % valueCount);
    const merged = merge(readDay.get(dim, day, value), byDay.hits[group]!, byDay.ids!(group));
    writeDay.run(dim, day, value, merged.hits, merged.visitors, merged.ids);
  }
}

interface Stored {
  hits: number;
  visitors: number;
  ids: Uint8Array;
}

/** A stored set and the new one, as one sorted set of ids without repeats. */
function merge(stored: Stored | null, hits: number, ids: Uint32Array): Stored {
  const added = ids.sort();
  const old = stored ? decodeSet(stored.ids, stored.visitors) : new Uint32Array(0);
  const out = new Uint32Array(old.length + added.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < old.length || j < added.length) {
    const next = j >= added.length || (i < old.length && old[i]! <= added[j]!) ? old[i++]! : added[j++]!;
    if (n === 0 || out[n - 1] !== next) out[n++] = next;
  }
  return { hits: (stored?.hits ?? 0) + hits, visitors: n, ids: encodeSet(out.subarray(0, n)) };
}

/** Appends the rows to the stored columns: the last chunk is filled up first, then new ones are started. */
function appendColumns(db: Database, rows: ColumnsBuilder): void {
  if (rows.rows === 0) return;
  const last = db.query<{ chunk: number; rows: number; first_time: number; last_time: number }, []>(
    "SELECT chunk, rows, first_time, last_time FROM chunks ORDER BY chunk DESC LIMIT 1",
  ).get();
  const writeChunk = db.query(
    `INSERT INTO chunks (chunk, rows, first_time, last_time) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (chunk) DO UPDATE SET rows = excluded.rows, first_time = excluded.first_time, last_time = excluded.last_time`,
  );
  const writeColumn = db.query(
    "INSERT INTO columns (name, chunk, data) VALUES (?1, ?2, ?3) ON CONFLICT (name, chunk) DO UPDATE SET data = excluded.data",
  );
  const readColumn = db.query<{ data: Uint8Array }, [string, number]>("SELECT data FROM columns WHERE name = ?1 AND chunk = ?2");

  let taken = 0;
  let chunk = last && last.rows < CHUNK_ROWS ? last.chunk : (last?.chunk ?? -1) + 1;
  let held = last && last.rows < CHUNK_ROWS ? last.rows : 0;
  while (taken < rows.rows) {
    const count = Math.min(CHUNK_ROWS - held, rows.rows - taken);
    let firstTime = Infinity;
    let lastTime = -Infinity;
    const times = rows.column("time");
    for (let i = taken; i < taken + count; i++) {
      firstTime = Math.min(firstTime, times[i]! + rows.base);
      lastTime = Math.max(lastTime, times[i]! + rows.base);
    }
    if (held > 0) {
      firstTime = Math.min(firstTime, last!.first_time);
      lastTime = Math.max(lastTime, last!.last_time);
    }
    for (const name of COLUMN_NAMES) {
      const column = new Uint32Array(held + count);
      if (held > 0) column.set(decodeColumn(readColumn.get(name, chunk)!.data, held));
      column.set(rows.column(name).subarray(taken, taken + count), held);
      writeColumn.run(name, chunk, encodeColumn(column));
    }
    writeChunk.run(chunk, held + count, firstTime, lastTime);
    taken += count;
    chunk++;
    held = 0;
  }
}

/**
 * The month's ids of visitors and values: kept in `visitors` and
 * `dim_values`, so an id never changes once given.
 */
class MonthIds implements IdSource {
  private readonly visitors = new Map<string, number>();
  private readonly values = new Map<string, Map<string, number>>(DIMENSION_NAMES.map((name) => [name, new Map()]));
  private readonly texts = new Map<string, Map<number, string>>(DIMENSION_NAMES.map((name) => [name, new Map()]));
  private readonly counts = new Map<string, number>();
  private top: number;

  constructor(private readonly db: Database) {
    this.top = db.query<{ top: number }, []>("SELECT IFNULL(max(id), 0) AS top FROM visitors").get()!.top;
    for (const { dim, n } of db.query<{ dim: string; n: number }, []>("SELECT dim, max(id) + 1 AS n FROM dim_values GROUP BY dim").all()) {
      this.counts.set(dim, n);
    }
  }

  visitor(ip: string): number {
    let id = this.visitors.get(ip);
    if (id === undefined) {
      id = this.db.query<{ id: number }, [string]>("SELECT id FROM visitors WHERE ip = ?1").get(ip)?.id;
      if (id === undefined) {
        id = this.db.query<{ id: number }, [string]>("INSERT INTO visitors (ip) VALUES (?1) RETURNING id").get(ip)!.id;
        this.top = Math.max(this.top, id);
      }
      this.visitors.set(ip, id);
    }
    return id;
  }

  value(dimension: Dimension, value: string): number {
    const known = this.values.get(dimension)!;
    let id = known.get(value);
    if (id === undefined) {
      id = this.db.query<{ id: number }, [string, string]>("SELECT id FROM dim_values WHERE dim = ?1 AND value = ?2").get(dimension, value)?.id;
      if (id === undefined) {
        id = this.count(dimension);
        this.db.query("INSERT INTO dim_values (dim, id, value) VALUES (?1, ?2, ?3)").run(dimension, id, value);
        this.counts.set(dimension, id + 1);
      }
      known.set(value, id);
      this.texts.get(dimension)!.set(id, value);
    }
    return id;
  }

  /** One more than the highest id of `dimension`'s values. */
  count(dimension: Dimension): number {
    return this.counts.get(dimension) ?? 0;
  }

  /** The value of an id given or looked up by this fold. */
  text(dimension: Dimension, id: number): string {
    return this.texts.get(dimension)!.get(id)!;
  }

  idBound(): number {
    return this.top + 1;
  }
}
