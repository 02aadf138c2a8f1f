import { statSync } from "node:fs";
import { monthsInRange, shardPath } from "./layout";
import type { SyncMode } from "./schema";
import { Shard } from "./shard";
import { MonthSummary } from "./summary";
import type { TimeRange } from "./visit";

/**
 * A shard's version: its file's inode, its rewrite count and its highest
 * rowid. The service only appends rows, which moves the rowid; a website
 * deleted and created again has new files; a rewrite in place
 * (migrate-platforms) counts itself in the file's `user_version`.
 */
export function shardVersion(path: string, shard: Shard): string {
  return `${statSync(path).ino}:${shard.rewrites()}:${shard.maxRowid()}`;
}

/**
 * Shards opened for one read and closed right after. The query worker reads
 * this way, so it never holds files beyond what one query needs, and the
 * pool's bound (--connections) stays the service's.
 */
export class TransientShards {
  constructor(
    readonly root: string,
    private readonly sync: SyncMode,
  ) {}

  months(website: string, range: TimeRange): string[] {
    return monthsInRange(this.root, website, range);
  }

  withShard<T>(website: string, month: string, read: (shard: Shard, path: string) => T): T {
    return this.use(website, month, (path) => Shard.open(path, false, this.sync), read);
  }

  /** Runs `read` on the month's summary, first brought up to date with its shard. */
  withSummary<T>(website: string, month: string, read: (summary: MonthSummary) => T): T {
    return this.use(website, month, (path) => MonthSummary.open(path), read);
  }

  private use<Handle extends { close(): void }, T>(
    website: string,
    month: string,
    open: (path: string) => Handle,
    read: (handle: Handle, path: string) => T,
  ): T {
    const path = shardPath(this.root, website, month);
    let handle: Handle | undefined;
    try {
      handle = open(path);
      return read(handle, path);
    } catch (error) {
      throw new ShardFault(path, error);
    } finally {
      handle?.close();
    }
  }
}

/** A shard that could not be read (damaged, truncated, unreadable): named, so the log says which file. */
export class ShardFault extends Error {
  override name = "ShardFault";

  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`shard ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
