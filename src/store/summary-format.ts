/**
 * The month summary's file: what it holds and how its sets of visitors are
 * written. A summary is derived data, so a file of another format is simply
 * deleted and built again (see MonthSummary.open).
 */

/** Beside each month's analytics.db. */
export const SUMMARY_FILE = "summary.db";

/** Kept in the file's `PRAGMA user_version`; a summary of any other is rebuilt. */
export const SUMMARY_FORMAT = 3;

export const DAY = 86_400;

/**
 * The groupings a summary keeps, by number, as SQL over `visits`; 0 is every
 * event of the month. Values are text, whatever the column held.
 */
export const SUMMARY_DIMENSIONS = [
  "''",
  "CAST(IFNULL(countryCode, '') AS TEXT)",
  "CAST(IFNULL(platform, '') AS TEXT)",
  "CAST(IFNULL(refererDomain, '') AS TEXT)",
  "CAST(IFNULL(event, '') AS TEXT)",
] as const;

/**
 * `visitors` gives each ip seen in the month a small integer id, for good.
 * A set is the sorted ids of the visitors behind a value's events, as
 * 32-bit integers in a BLOB: a month's 50,000 visitors of a value read in
 * one copy, where rows of ips would be read one by one. `month_sets` are a
 * whole month's, `day_sets` a UTC day's, for ranges that cut a month.
 * `source` is the shard the summary was made from (inode and rewrite count),
 * `watermark` the highest rowid folded in and `rows` how many rows that was;
 * `checked` the shard's file signature when they were last found to agree
 * with it (see MonthSummary.open).
 */
export const SUMMARY_SCHEMA = `
  CREATE TABLE meta (source TEXT NOT NULL, watermark INTEGER NOT NULL, rows INTEGER NOT NULL, checked TEXT NOT NULL);
  CREATE TABLE visitors (id INTEGER PRIMARY KEY, ip TEXT NOT NULL UNIQUE);
  CREATE TABLE month_sets (dim INTEGER NOT NULL, value TEXT NOT NULL, hits INTEGER NOT NULL, ids BLOB NOT NULL,
    PRIMARY KEY (dim, value));
  CREATE TABLE day_sets (dim INTEGER NOT NULL, day INTEGER NOT NULL, value TEXT NOT NULL, hits INTEGER NOT NULL,
    ids BLOB NOT NULL, PRIMARY KEY (dim, day, value));
  PRAGMA user_version = ${SUMMARY_FORMAT};
`;

/** Ids in the machine's byte order, which is little-endian wherever Bun runs (x64, arm64). */
export function toBlob(ids: Uint32Array): Uint8Array {
  return new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength);
}

export function fromBlob(blob: Uint8Array): Uint32Array {
  const aligned = blob.byteOffset % 4 === 0 ? blob : blob.slice();
  return new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength >> 2);
}
