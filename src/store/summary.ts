import { Database } from "bun:sqlite";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";

/** Beside each month's analytics.db: what queries of whole months read instead of its rows. */
export const SUMMARY_FILE = "summary.db";

/** The groupings a summary keeps, by number; 0 is every event of the month. */
export const SUMMARY_DIMENSIONS = ["''", "IFNULL(countryCode, '')", "IFNULL(platform, '')", "IFNULL(refererDomain, '')", "IFNULL(event, '')"] as const;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (watermark INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS visitors (dim INTEGER, value TEXT, ip TEXT, hits INTEGER,
    PRIMARY KEY (dim, value, ip)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS day_visitors (day INTEGER, ip TEXT, hits INTEGER,
    PRIMARY KEY (day, ip)) WITHOUT ROWID;
`;

/**
 * A month's distinct visitors, per value of each grouping and per day, with
 * their event counts. A year of a busy website has a million events a month
 * but some tens of thousands of visitors: exact unique counts over whole
 * months read these instead of the rows, and merge visitors across months.
 *
 * The summary follows its shard by rowid: rows are only ever appended, so
 * the rows after the watermark are folded in before each use, which keeps a
 * live month current at the cost of its new rows only, and takes a backfill
 * into an old month in. It lives in a file of its own, written only by the
 * query worker, so building it never holds the lock the writer needs.
 * Being derived, a summary that cannot be read is deleted and built again.
 */
export class MonthSummary {
  private constructor(private readonly db: Database) {}

  /** Opens (or builds) the summary beside `shardPath`, brought up to the shard's last row. */
  static open(shardPath: string): MonthSummary {
    const path = join(dirname(shardPath), SUMMARY_FILE);
    try {
      return MonthSummary.openAt(path, shardPath);
    } catch {
      removeSummary(shardPath);
      return MonthSummary.openAt(path, shardPath);
    }
  }

  private static openAt(path: string, shardPath: string): MonthSummary {
    const db = new Database(path, { create: true, strict: true });
    try {
      // Derived data: a summary lost to a crash is rebuilt, so no fsync is owed.
      db.run("PRAGMA synchronous = OFF");
      db.run("PRAGMA busy_timeout = 5000");
      db.exec(SCHEMA);
      fold(db, shardPath);
      return new MonthSummary(db);
    } catch (error) {
      db.close(true);
      throw error;
    }
  }

  all<Row>(sql: string, ...params: (string | number)[]): Row[] {
    return this.db.query<Row, (string | number)[]>(sql).all(...params);
  }

  /** Releases the file now (see Shard.close). */
  close(): void {
    this.db.close(true);
  }
}

/** Deletes the summary beside `shardPath`, when its shard is rewritten in place. */
export function removeSummary(shardPath: string): void {
  const path = join(dirname(shardPath), SUMMARY_FILE);
  for (const suffix of ["", "-journal", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
}

/** Adds the shard's rows after the watermark, in one transaction that also moves the watermark. */
function fold(db: Database, shardPath: string): void {
  db.prepare("ATTACH ? AS shard").run(shardPath);
  try {
    db.transaction(() => {
      const watermark = db.query<{ w: number }, []>("SELECT watermark AS w FROM meta").get()?.w ?? 0;
      const top = once(db, "SELECT IFNULL(max(rowid), 0) AS top FROM shard.visits", [])[0] as { top: number };
      if (top.top <= watermark) return;
      const rows = "FROM shard.visits WHERE rowid > ?1 AND rowid <= ?2";
      const range = [watermark, top.top];
      SUMMARY_DIMENSIONS.forEach((expression, dim) => {
        once(
          db,
          `INSERT INTO visitors (dim, value, ip, hits)
           SELECT ${dim}, ${expression}, IFNULL(ip, ''), COUNT(*) ${rows} GROUP BY 2, 3
           ON CONFLICT (dim, value, ip) DO UPDATE SET hits = hits + excluded.hits`,
          range,
        );
      });
      once(
        db,
        `INSERT INTO day_visitors (day, ip, hits)
         SELECT (time / 86400) * 86400, IFNULL(ip, ''), COUNT(*) ${rows} GROUP BY 1, 2
         ON CONFLICT (day, ip) DO UPDATE SET hits = hits + excluded.hits`,
        range,
      );
      db.run("DELETE FROM meta");
      db.prepare("INSERT INTO meta (watermark) VALUES (?)").run(top.top);
    })();
  } finally {
    db.run("DETACH shard");
  }
}

/** Runs a statement on the attached shard and finalizes it: a cached one would keep DETACH from working. */
function once(db: Database, sql: string, params: number[]): unknown[] {
  const statement = db.prepare(sql);
  try {
    return statement.all(...params);
  } finally {
    statement.finalize();
  }
}
