/**
 * The month summary's file: what it holds and how its sets of visitors are
 * written. A summary is derived data, so a file of another format is simply
 * deleted and built again (see MonthSummary.open).
 */

/** Beside each month's analytics.db. */
export const SUMMARY_FILE = "summary.db";

/** Kept in the file's `PRAGMA user_version`; a summary of any other is rebuilt. */
export const SUMMARY_FORMAT = 5;

export const DAY = 86_400;

/** The `dim` of the sets of every event of the month, whatever their values. */
export const ALL_EVENTS = "";

/**
 * `visitors` gives each ip seen in the month a small integer id, for good;
 * `dim_values` does the same for each value of each dimension (see
 * dimensions.ts). A set is the sorted ids of the visitors behind a value's
 * events, in a BLOB: a month's 50,000 visitors of a value read in one copy,
 * where rows of ips would be read one by one. `visitors` is how many ids it
 * holds, each in 2 bytes when they all fit, else 4 (a month rarely has
 * 65,536 visitors; a year-long breakdown reads some 40 MB of sets at 4 bytes
 * an id, and read time follows the bytes). `month_sets`
 * are a whole month's, `day_sets` a UTC day's, for ranges that cut a month;
 * their `dim` is a dimension's name, or '' for every event.
 *
 * `columns` is a copy of the rows themselves, column by column, in chunks
 * (see month-columns.ts): a chunk's rows are in rowid order, and `chunks`
 * says how many there are and the span of their times.
 *
 * `meta`: `source` is the shard the summary was made from (inode and rewrite
 * count), `watermark` the highest rowid folded in and `rows` how many rows
 * that was, `first_time` and `last_time` the earliest and latest event;
 * `checked` the shard's file signature when they were last found to agree
 * with it (see MonthSummary.open); `generation` is drawn at random when the
 * file is made, so that whoever keeps what a summary's ids stand for (see
 * modules/query/website-visitors) can tell a summary built again, whose ids
 * stand for other visitors, from the one it read.
 */
export const SUMMARY_SCHEMA = `
  CREATE TABLE meta (source TEXT NOT NULL, watermark INTEGER NOT NULL, rows INTEGER NOT NULL, checked TEXT NOT NULL,
    first_time INTEGER, last_time INTEGER, generation TEXT NOT NULL);
  CREATE TABLE visitors (id INTEGER PRIMARY KEY, ip TEXT NOT NULL UNIQUE);
  CREATE TABLE dim_values (dim TEXT NOT NULL, id INTEGER NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (dim, id), UNIQUE (dim, value));
  CREATE TABLE month_sets (dim TEXT NOT NULL, value TEXT NOT NULL, hits INTEGER NOT NULL, visitors INTEGER NOT NULL,
    ids BLOB NOT NULL, PRIMARY KEY (dim, value));
  CREATE TABLE day_sets (dim TEXT NOT NULL, day INTEGER NOT NULL, value TEXT NOT NULL, hits INTEGER NOT NULL,
    visitors INTEGER NOT NULL, ids BLOB NOT NULL, PRIMARY KEY (dim, day, value));
  CREATE TABLE chunks (chunk INTEGER PRIMARY KEY, rows INTEGER NOT NULL, first_time INTEGER NOT NULL, last_time INTEGER NOT NULL);
  CREATE TABLE columns (name TEXT NOT NULL, chunk INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (name, chunk));
  PRAGMA user_version = ${SUMMARY_FORMAT};
`;

/**
 * A set of sorted ids as stored: in the machine's byte order, which is
 * little-endian wherever Bun runs (x64, arm64), 2 bytes an id when the
 * highest fits, else 4.
 */
export function encodeSet(ids: Uint32Array): Uint8Array {
  const narrow = ids.length === 0 || ids[ids.length - 1]! < 0x10000 ? new Uint16Array(ids) : ids;
  return new Uint8Array(narrow.buffer, narrow.byteOffset, narrow.byteLength);
}

/** A set's ids as read: 16 or 32 bits each. */
export type SetIds = Uint16Array | Uint32Array;

/**
 * A stored set of `count` ids (its width is its length over them), read in
 * place: widening a year's 10 million ids to 32 bits cost more than uniting
 * them.
 */
export function decodeSet(blob: Uint8Array, count: number): SetIds {
  const width = count === 0 ? 4 : blob.byteLength / count;
  const aligned = blob.byteOffset % width === 0 ? blob : blob.slice();
  return width === 2 ? new Uint16Array(aligned.buffer, aligned.byteOffset, count) : new Uint32Array(aligned.buffer, aligned.byteOffset, count);
}
