import { statSync } from "node:fs";
import { monthsInRange, shardPath } from "./layout";
import type { SyncMode } from "./schema";
import { Shard } from "./shard";
import type { TimeRange } from "./visit";

/** Where queries read shards from: the service's pool, or (in the query worker) files opened per query. */
export interface ShardSource {
  /** The months of `website` with a shard that may hold events in `range`, oldest first. */
  months(website: string, range: TimeRange): string[];
  /** Runs `read` on one existing shard; a failure is a ShardFault naming the file. */
  withShard<T>(website: string, month: string, read: (shard: Shard) => T): T;
}

/** Calls `visit` with each shard of `website` that may hold events in `range`, oldest month first. */
export function forEachShard(source: ShardSource, website: string, range: TimeRange, visit: (shard: Shard) => void): void {
  for (const month of source.months(website, range)) source.withShard(website, month, visit);
}

/**
 * A shard's version: its file's inode and modification time, and its highest
 * rowid. The service only appends rows, which moves the rowid; a website
 * deleted and created again has new files; a rewrite in place
 * (migrate-platforms) changes the file when its connection closes.
 */
export function shardVersion(path: string, shard: Shard): string {
  const { ino, mtimeMs } = statSync(path);
  return `${ino}:${mtimeMs}:${shard.maxRowid()}`;
}

/**
 * Shards opened for one read and closed right after. The query worker reads
 * this way, so it never holds files beyond what one query needs, and the
 * pool's bound (--connections) stays the service's.
 */
export class TransientShards implements ShardSource {
  constructor(
    readonly root: string,
    private readonly sync: SyncMode,
  ) {}

  months(website: string, range: TimeRange): string[] {
    return monthsInRange(this.root, website, range);
  }

  withShard<T>(website: string, month: string, read: (shard: Shard, path: string) => T): T {
    const path = shardPath(this.root, website, month);
    let shard: Shard | undefined;
    try {
      shard = Shard.open(path, false, this.sync);
      return read(shard, path);
    } catch (error) {
      throw new ShardFault(path, error);
    } finally {
      shard?.close();
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
