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
  ) {}

  static open(path: string): ShardReader {
    const db = new Database(path, { readonly: true, strict: true });
    try {
      // A read may wait for a moment while the writer recovers or checkpoints the WAL.
      db.run("PRAGMA busy_timeout = 5000");
      return new ShardReader(path, db);
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
    return this.db.query<{ top: number }, []>("SELECT IFNULL(max(rowid), 0) AS top FROM visits").get()!.top;
  }

  /** How many rows have a rowid up to `rowid`, counted in one read of the file. */
  rowsUpTo(rowid: number): number {
    return this.db.transaction(() => {
      // count(*) alone walks the smallest index; the rows after `rowid` are few and found by rowid.
      const all = this.db.query<{ n: number }, []>("SELECT count(*) AS n FROM visits").get()!.n;
      const after = this.db.query<{ n: number }, [number]>("SELECT count(*) AS n FROM visits WHERE rowid > ?1").get(rowid)!.n;
      return all - after;
    })();
  }

  /** What a summary would know of this shard, read from its rows (see MonthFacts). */
  facts(inode: number): { version: string; rows: number; firstTime: number | null; lastTime: number | null } {
    return this.db.transaction(() => {
      const { top, rows, first, last } = this.db
        .query<{ top: number; rows: number; first: number | null; last: number | null }, []>(
          "SELECT IFNULL(max(rowid), 0) AS top, count(*) AS rows, min(time) AS first, max(time) AS last FROM visits",
        )
        .get()!;
      return { version: `${inode}:${this.rewrites()}:${top}:${rows}`, rows, firstTime: first, lastTime: last };
    })();
  }

  /** Runs a read query; statements are cached per connection by bun:sqlite. */
  all<Row>(sql: string, ...params: (string | number)[]): Row[] {
    return this.db.query<Row, (string | number)[]>(sql).all(...params);
  }

  /** The same, each row as an array of its columns' values. */
  values(sql: string, ...params: (string | number)[]): unknown[][] {
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

/** The inode, size and times of a shard and of its WAL (an empty WAL counts as none). */
export function shardSignature(path: string): FileSignature {
  return signatureOf(statSync(path, { bigint: true }), statSync(`${path}-wal`, { bigint: true, throwIfNoEntry: false }));
}

/** The same, from the shard's and its WAL's `stat` (bigint, for nanoseconds) when they are at hand. */
export function signatureOf(main: BigIntStats, wal: BigIntStats | undefined): FileSignature {
  const parts = [main.ino, main.size, main.mtimeNs, main.ctimeNs];
  let newest = main.ctimeNs;
  if (wal && wal.size > 0n) {
    parts.push(wal.size, wal.mtimeNs, wal.ctimeNs);
    if (wal.ctimeNs > newest) newest = wal.ctimeNs;
  }
  return { inode: Number(main.ino), text: parts.join(":"), settled: newest < BigInt(Date.now()) * 1_000_000n - SETTLE_NS };
}
