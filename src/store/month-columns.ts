import { DIMENSION_NAMES, valueSql, type Dimension } from "./dimensions";
import type { ShardReader } from "./shard-reader";
import { idArray, type IdArray } from "./visitor-sets";

/**
 * A month's rows, column by column: each row's time (seconds since the
 * month's first), its visitor's month id, and for each dimension the month
 * id of its value. Summaries keep them in chunks, a BLOB a column; queries
 * that sets cannot answer (filters, edges that cut days, local-time buckets)
 * scan them in memory instead of reading SQLite's rows.
 */
export type ColumnName = "time" | "visitor" | Dimension;

export const COLUMN_NAMES: readonly ColumnName[] = ["time", "visitor", ...DIMENSION_NAMES];

/** Rows a stored chunk holds at most. */
export const CHUNK_ROWS = 65_536;

/** Some rows of a month; each column is read when it is asked for. */
export interface Chunk {
  rows: number;
  /** The earliest and latest time of its rows (Unix seconds): a chunk outside a range is skipped unread. */
  firstTime: number;
  lastTime: number;
  /** A column's ids; the array may be reused for the same column of the next chunk read. */
  column(name: ColumnName): Uint32Array;
}

/** A month's rows as a query reads them: its chunks, and what the ids in them stand for. */
export interface MonthColumns {
  /** The month's first second: `time` columns count from it. */
  readonly base: number;
  /** One more than the highest visitor id. */
  idBound(): number;
  /** Each value of `dimension`, at the index of its id. */
  values(dimension: Dimension): string[];
  /** The ips of the visitors of id `from` and up (to idBound). */
  visitors(from?: number): VisitorIps;
  /** The chunks with rows between `from` and `to` (inclusive), in order; their columns are read one chunk at a time. */
  chunks(from: number, to: number): Chunk[];
}

/**
 * The ips of visitors of consecutive ids, as UTF-8 in one array: the i-th
 * runs from `starts[i]` to `starts[i + 1] - 1`, each followed by a NUL but
 * the last (so `starts` has one more entry than there are ips). Visitors
 * stay bytes from the summary to the query worker's table of them
 * (modules/query/website-visitors), with no string made for each.
 */
export interface VisitorIps {
  bytes: Uint8Array;
  starts: Uint32Array;
}

/** `count` ips joined by NULs, as SQLite's string_agg gives them; undefined when an ip holds a NUL itself (there are more). */
export function splitIps(bytes: Uint8Array, count: number): VisitorIps | undefined {
  const starts = new Uint32Array(count + 1);
  let ips = 1;
  for (let at = bytes.indexOf(0); at !== -1; at = bytes.indexOf(0, at + 1)) {
    if (ips === count) return undefined;
    starts[ips++] = at + 1;
  }
  if (ips !== count) return undefined;
  starts[count] = bytes.length + 1;
  return { bytes, starts };
}

/** The same from strings, whatever they hold. */
export function joinIps(ips: readonly string[]): VisitorIps {
  const encoded = ips.map((ip) => Buffer.from(ip, "utf8"));
  const starts = new Uint32Array(ips.length + 1);
  for (let i = 0; i < encoded.length; i++) starts[i + 1] = starts[i]! + encoded[i]!.length + 1;
  const bytes = new Uint8Array(Math.max(0, starts[ips.length]! - 1));
  encoded.forEach((ip, i) => bytes.set(ip, starts[i]!));
  return { bytes, starts };
}

/** A column as stored: its ids in the narrowest width they fit, in the machine's (little-endian) byte order. */
export function encodeColumn(ids: IdArray): Uint8Array {
  let top = 0;
  for (let i = 0; i < ids.length; i++) if (ids[i]! > top) top = ids[i]!;
  const narrow = idArray(ids.length, top + 1);
  narrow.set(ids);
  return new Uint8Array(narrow.buffer, narrow.byteOffset, narrow.byteLength);
}

/**
 * A stored column of `rows` ids (its width is its length over the rows), as
 * 32-bit ids whatever it was stored as: a scan reads every column through
 * one kind of array, which JavaScriptCore runs several times faster than a
 * loop that meets arrays of three kinds. Narrower ids are widened into
 * `into` (at least `rows` long), so a scan allocates no array a chunk.
 */
export function decodeColumn(blob: Uint8Array, rows: number, into: Uint32Array = new Uint32Array(rows)): Uint32Array {
  const width = rows === 0 ? 4 : blob.byteLength / rows;
  const aligned = blob.byteOffset % width === 0 ? blob : blob.slice();
  if (width === 4) return new Uint32Array(aligned.buffer, aligned.byteOffset, rows);
  const out = into.subarray(0, rows);
  out.set(width === 1 ? aligned : new Uint16Array(aligned.buffer, aligned.byteOffset, rows));
  return out;
}

/** Column arrays that grow as rows are added, each as wide as ids need (up to 32 bits). */
export class ColumnsBuilder {
  rows = 0;
  firstTime = Infinity;
  lastTime = -Infinity;
  private columns: Uint32Array[];

  constructor(
    /** The month's first second: times are kept as seconds since it. */
    readonly base: number,
    capacity = 1024,
  ) {
    this.columns = COLUMN_NAMES.map(() => new Uint32Array(capacity));
  }

  /** Appends a row: its time (Unix seconds), its visitor's id and the id of its value of each dimension, in DIMENSIONS order. */
  add(time: number, visitor: number, values: ArrayLike<number>): void {
    if (this.rows === this.columns[0]!.length) this.grow();
    const row = this.rows++;
    this.columns[0]![row] = time - this.base;
    this.columns[1]![row] = visitor;
    for (let d = 0; d < values.length; d++) this.columns[d + 2]![row] = values[d]!;
    if (time < this.firstTime) this.firstTime = time;
    if (time > this.lastTime) this.lastTime = time;
  }

  column(name: ColumnName): Uint32Array {
    return this.columns[COLUMN_NAMES.indexOf(name)]!.subarray(0, this.rows);
  }

  chunk(): Chunk {
    return { rows: this.rows, firstTime: this.firstTime, lastTime: this.lastTime, column: (name) => this.column(name) };
  }

  private grow(): void {
    this.columns = this.columns.map((column) => {
      const bigger = new Uint32Array(column.length * 2);
      bigger.set(column);
      return bigger;
    });
  }
}

/** A shard's rows as the summary reads them: time, ip, then each dimension's value, all text but the time. */
export const ROWS_SQL = `SELECT time, CAST(IFNULL(ip, '') AS TEXT), ${DIMENSION_NAMES.map(valueSql).join(", ")} FROM visits`;

/** The month a summary folds, by its first and last second. */
export interface MonthSpan {
  first: number;
  last: number;
}

/** Ids for a month's visitors and values, as a summary or a query of rows alone gives them. */
export interface IdSource {
  visitor(ip: string): number;
  value(dimension: Dimension, value: string): number;
}

/**
 * The shard's rows that `where` selects (over `visits`, with `params`), as
 * columns of the ids `ids` gives. A row's time outside its month (a shard
 * made by hand) counts at the month's nearest edge, as it does in the sets.
 */
export function readColumns(shard: ShardReader, month: MonthSpan, ids: IdSource, where: string, ...params: number[]): ColumnsBuilder {
  const rows = new ColumnsBuilder(month.first);
  const values = new Uint32Array(DIMENSION_NAMES.length);
  for (const row of shard.values(`${ROWS_SQL} WHERE ${where}`, ...params)) {
    const time = Math.min(month.last, Math.max(month.first, Number(row[0]) || 0));
    for (let d = 0; d < DIMENSION_NAMES.length; d++) values[d] = ids.value(DIMENSION_NAMES[d]!, row[d + 2] as string);
    rows.add(time, ids.visitor(row[1] as string), values);
  }
  return rows;
}


/**
 * A month's rows read from the shard itself, for when its summary cannot be
 * used (a full disk, a read-only root): the same columns, in memory, with
 * ids given as they come. `span` is the part of the month wanted.
 */
export class ShardColumns implements MonthColumns, IdSource {
  readonly base: number;
  private readonly ips = new Map<string, number>();
  private readonly ids = new Map<Dimension, Map<string, number>>(DIMENSION_NAMES.map((name) => [name, new Map()]));
  private readonly rows: ColumnsBuilder;

  constructor(shard: ShardReader, month: MonthSpan, span: MonthSpan) {
    this.base = month.first;
    const whole = span.first <= month.first && span.last >= month.last;
    this.rows = whole ? readColumns(shard, month, this, "1") : readColumns(shard, month, this, "time >= ?1 AND time <= ?2", span.first, span.last);
  }

  visitor(ip: string): number {
    let id = this.ips.get(ip);
    if (id === undefined) this.ips.set(ip, (id = this.ips.size));
    return id;
  }

  value(dimension: Dimension, value: string): number {
    const ids = this.ids.get(dimension)!;
    let id = ids.get(value);
    if (id === undefined) ids.set(value, (id = ids.size));
    return id;
  }

  idBound(): number {
    return this.ips.size;
  }

  values(dimension: Dimension): string[] {
    return Array.from(this.ids.get(dimension)!.keys());
  }

  visitors(from = 0): VisitorIps {
    return joinIps(Array.from(this.ips.keys()).slice(from));
  }

  chunks(from: number, to: number): Chunk[] {
    return this.rows.rows > 0 && this.rows.lastTime >= from && this.rows.firstTime <= to ? [this.rows.chunk()] : [];
  }
}
