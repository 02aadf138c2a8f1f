import { Database } from "bun:sqlite";
import { type BigIntStats, statSync } from "node:fs";

/**
 * A shard opened for reading only. Queries read this way: no schema set-up,
 * no statement to insert, and SQLite is told so, so a read can neither
 * change a shard nor create one that is not there.
 */
export class ShardReader {
  private constructor(
    readonly path: string,
    private readonly db: Database,
    /**
     * No `visits` table yet: the writer was killed between creating the file
     * and its table (which it makes when it next opens it). Such a shard
     * holds no event, and a reader, which creates nothing, reads none.
     */
    private readonly empty: boolean,
  ) {}

  /**
   * Opens the shard for reading. A shard a killed writer left with a hot
   * rollback journal (the original service's journal mode) cannot be read
   * by a connection that may not write: it is first rolled back to its last
   * commit, as the writer's own next open would do, then read.
   */
  static open(path: string): ShardReader {
    try {
      return ShardReader.connect(path);
    } catch (error) {
      if ((error as { code?: string }).code !== "SQLITE_READONLY_ROLLBACK") throw error;
      const recovering = new Database(path, { readwrite: true, create: false });
      try {
        recovering.run("PRAGMA busy_timeout = 5000");
        recovering.query("PRAGMA schema_version").get();
      } finally {
        recovering.close(true);
      }
      return ShardReader.connect(path);
    }
  }

  private static connect(path: string): ShardReader {
    const db = new Database(path, { readonly: true, strict: true });
    try {
      // A read may wait for a moment while the writer recovers or checkpoints the WAL.
      db.run("PRAGMA busy_timeout = 5000");
      // The first read: a hot journal shows here, not in the middle of a query.
      const table = db.query("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'visits'").get();
      return new ShardReader(path, db, table === null);
    } catch (error) {
      db.close(true);
      throw error;
    }
  }

  /** How many times rows were rewritten in place (`user_version`, which migrate-platforms counts up). */
  rewrites(): number {
    return this.db.query<{ user_version: number }, []>("PRAGMA user_version").get()!.user_version;
  }

  /** The highest rowid: rows are only ever appended, so it grows with every insert. */
  top(): number {
    if (this.empty) return 0;
    return this.db.query<{ top: number }, []>("SELECT IFNULL(max(rowid), 0) AS top FROM visits").get()!.top;
  }

  /** How many rows have a rowid up to `rowid`, counted in one read of the file. */
  rowsUpTo(rowid: number): number {
    if (this.empty) return 0;
    return this.db.transaction(() => {
      // count(*) alone walks the smallest index; the rows after `rowid` are few and found by rowid.
      const all = this.db.query<{ n: number }, []>("SELECT count(*) AS n FROM visits").get()!.n;
      const after = this.db.query<{ n: number }, [number]>("SELECT count(*) AS n FROM visits WHERE rowid > ?1").get(rowid)!.n;
      return all - after;
    })();
  }

  /** What a summary would know of this shard, read from its rows (see MonthFacts). */
  facts(inode: number): { version: string; rows: number; firstTime: number | null; lastTime: number | null } {
    if (this.empty) return { version: `${inode}:${this.rewrites()}:0:0`, rows: 0, firstTime: null, lastTime: null };
    return this.db.transaction(() => {
      const { top, rows, first, last } = this.db
        .query<{ top: number; rows: number; first: number | null; last: number | null }, []>(
          "SELECT IFNULL(max(rowid), 0) AS top, count(*) AS rows, min(time) AS first, max(time) AS last FROM visits",
        )
        .get()!;
      return { version: `${inode}:${this.rewrites()}:${top}:${rows}`, rows, firstTime: first, lastTime: last };
    })();
  }

  /** Runs a read query of `visits`; statements are cached per connection by bun:sqlite. */
  all<Row>(sql: string, ...params: (string | number)[]): Row[] {
    if (this.empty) return [];
    return this.db.query<Row, (string | number)[]>(sql).all(...params);
  }

  /** The same, each row as an array of its columns' values. */
  values(sql: string, ...params: (string | number)[]): unknown[][] {
    if (this.empty) return [];
    return this.db.query<unknown, (string | number)[]>(sql).values(...params) as unknown[][];
  }

  close(): void {
    this.db.close(true);
  }
}

/** A file's identity and last change, as `stat` sees it. */
export interface FileSignature {
  inode: number;
  /** Equal for two readings exactly when neither the shard nor its WAL changed in between. */
  text: string;
  /**
   * Whether the last change is old enough to tell apart from the next one:
   * file times tick at a few milliseconds, so a write in the same tick as
   * this reading would leave them as they are.
   */
  settled: boolean;
}

/** How old a change must be for the file times to be trusted to show the next one. */
const SETTLE_NS = 2_000_000_000n;

/**
 * The inode, size and times of a shard, and the size and last write of its
 * WAL (an empty WAL counts as none). Not the WAL's ctime: SQLite run as
 * root hands the WAL to the shard's owner (fchown) each time a connection
 * opens it, which moves its ctime though nothing changed, so every query
 * would find its months changed. A write to the WAL moves its mtime.
 */
export function shardSignature(path: string): FileSignature {
  return signatureOf(statSync(path, { bigint: true }), statSync(`${path}-wal`, { bigint: true, throwIfNoEntry: false }));
}

/** The same, from the shard's and its WAL's `stat` (bigint, for nanoseconds) when they are at hand. */
export function signatureOf(main: BigIntStats, wal: BigIntStats | undefined): FileSignature {
  const parts = [main.ino, main.size, main.mtimeNs, main.ctimeNs];
  let newest = main.ctimeNs;
  if (wal && wal.size > 0n) {
    parts.push(wal.size, wal.mtimeNs);
    if (wal.mtimeNs > newest) newest = wal.mtimeNs;
  }
  return { inode: Number(main.ino), text: parts.join(":"), settled: newest < BigInt(Date.now()) * 1_000_000n - SETTLE_NS };
}
