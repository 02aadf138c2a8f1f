import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import { monthOf } from "../time";
import { Checkpointer } from "./checkpointer";
import { diskUsage, isDirectory, listShards, monthsInRange, shardPath, websiteDir } from "./layout";
import type { PoolStats, ShardPool } from "./pool";
import type { Shard } from "./shard";
import type { TimeRange, Visit } from "./visit";
import { ShardFault } from "./shard-source";
import { ShardWriter } from "./writer";

/** What became of one shard's part of a write. */
export interface ShardOutcome {
  website: string;
  month: string;
  events: number;
  /** Set when the shard's transaction failed: none of its events were stored. */
  error?: unknown;
}

/** Where a directory goes to be deleted: a leading dot is never a website's name. */
const DELETING = ".deleting-";

/**
 * The websites under one root directory. Website names reaching this class
 * have been validated at the edge (see `website.ts`).
 */
export class Store {
  private readonly writer: ShardWriter;
  private readonly checkpointer: Checkpointer;

  constructor(
    readonly root: string,
    private readonly pool: ShardPool,
  ) {
    if (existsSync(root) && !statSync(root).isDirectory()) throw new Error("it exists and is not a directory");
    mkdirSync(root, { recursive: true });
    this.checkpointer = new Checkpointer();
    this.writer = new ShardWriter(pool, this.checkpointer);
  }

  hasWebsite(website: string): boolean {
    return isDirectory(websiteDir(this.root, website));
  }

  /**
   * Writes visits to their month shards and settles once every shard has
   * committed or failed. Within a shard it is all or nothing.
   */
  append(website: string, visits: Visit[]): Promise<ShardOutcome[]> {
    const writes = Array.from(groupByMonth(visits), ([month, rows]) =>
      this.writer.write(shardPath(this.root, website, month), rows).then(
        (): ShardOutcome => ({ website, month, events: rows.length }),
        (error: unknown): ShardOutcome => ({ website, month, events: rows.length, error }),
      ),
    );
    return Promise.all(writes);
  }

  /**
   * Calls `visit` with each shard of `website` that may hold events in
   * `range`, oldest month first. The one path every query takes to the files.
   */
  months(website: string, range: TimeRange): string[] {
    return monthsInRange(this.root, website, range);
  }

  /**
   * The handle is the pool's: use it before returning, never across an
   * `await`, or the pool may close it.
   */
  withShard<T>(website: string, month: string, read: (shard: Shard) => T): T {
    const path = shardPath(this.root, website, month);
    try {
      return read(this.pool.acquire(path, false));
    } catch (error) {
      throw new ShardFault(path, error);
    }
  }

  /** Removes the website's whole directory; false when there was none. */
  deleteWebsite(website: string): boolean {
    const dir = websiteDir(this.root, website);
    if (!isDirectory(dir)) return false;
    this.pool.closeUnder(dir + sep);
    this.remove(dir);
    return true;
  }

  /** Deletes every month shard older than `month` (YYYY-MM); answers how many. */
  dropMonthsBefore(month: string): number {
    const expired = listShards(this.root).filter((shard) => shard.month < month);
    for (const shard of expired) {
      const dir = dirname(shard.path);
      this.pool.closeUnder(dir + sep);
      this.remove(dir);
    }
    return expired.length;
  }

  /** Deletes what a process that died mid-delete left behind; only once the root is ours (see lock.ts). */
  removeLeftovers(): void {
    for (const name of readdirSync(this.root)) {
      if (name.startsWith(DELETING)) rmSync(join(this.root, name), { recursive: true, force: true });
    }
  }

  /**
   * Takes `dir` out of the tree in one step, then deletes it. The query
   * worker may be opening a summary or a shard under it at that moment:
   * SQLite makes the files it opens, which would leave a stray file behind,
   * or keep a directory being deleted from going. After the rename, the old
   * paths lead nowhere.
   */
  private remove(dir: string): void {
    const doomed = join(this.root, DELETING + randomUUID());
    renameSync(dir, doomed);
    rmSync(doomed, { recursive: true, force: true });
  }

  poolStats(): PoolStats {
    return this.pool.stats();
  }

  /** Bytes on disk under the root. */
  diskBytes(): number {
    return diskUsage(this.root);
  }

  /** Commits what is queued, then closes every shard. */
  close(): void {
    this.writer.flush();
    this.checkpointer.close();
    this.pool.closeAll();
  }
}

function groupByMonth(visits: Visit[]): Map<string, Visit[]> {
  const months = new Map<string, Visit[]>();
  for (const visit of visits) {
    const month = monthOf(visit.time);
    const rows = months.get(month);
    if (rows) rows.push(visit);
    else months.set(month, [visit]);
  }
  return months;
}
