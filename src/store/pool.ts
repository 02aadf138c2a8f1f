import type { SyncMode } from "./schema";
import { Shard } from "./shard";
import { SLICE_MS } from "./turns";

interface Entry {
  shard: Shard;
  lastUsed: number;
}

export interface PoolStats {
  open: number;
  hits: number;
  misses: number;
  /** Closed to make room for another shard. */
  evictions: number;
  /** Closed after --idle-timeout unused. */
  idleCloses: number;
}

export interface PoolOptions {
  /** At most this many shards are open at once. */
  maxOpen: number;
  /** A shard unused this long is closed. */
  idleMs: number;
  sync: SyncMode;
}

/**
 * Open shard handles, bounded in number and in idle time.
 *
 * A Map keeps insertion order, so moving a shard to the end on every use makes
 * the first key the least recently used. Handles are used synchronously
 * between `acquire` and the end of the caller's work, so closing one never
 * pulls it from under a query or an insert in progress.
 */
export class ShardPool {
  private readonly entries = new Map<string, Entry>();
  private readonly sweeper: Timer;
  private readonly counts = { hits: 0, misses: 0, evictions: 0, idleCloses: 0 };

  constructor(private readonly options: PoolOptions) {
    this.sweeper = setInterval(() => this.closeIdle(), Math.min(options.idleMs, 1000));
    this.sweeper.unref();
  }

  stats(): PoolStats {
    return { open: this.entries.size, ...this.counts };
  }

  /** Whether the shard at `path` is open here. */
  has(path: string): boolean {
    return this.entries.has(path);
  }

  acquire(path: string, create: boolean): Shard {
    const now = Date.now();
    const entry = this.entries.get(path);
    if (entry) {
      this.counts.hits++;
      this.entries.delete(path);
      entry.lastUsed = now;
      this.entries.set(path, entry);
      return entry.shard;
    }
    this.counts.misses++;
    while (this.entries.size >= this.options.maxOpen) this.closeOldest();
    const shard = Shard.open(path, create, this.options.sync);
    this.entries.set(path, { shard, lastUsed: now });
    return shard;
  }

  /** Closes every shard whose path starts with `prefix` (a website's directory). */
  closeUnder(prefix: string): void {
    for (const [path, entry] of this.entries) {
      if (path.startsWith(prefix)) this.close(path, entry);
    }
  }

  closeAll(): void {
    clearInterval(this.sweeper);
    for (const [path, entry] of this.entries) this.close(path, entry);
  }

  /**
   * Closing a shard checkpoints its WAL (an fsync or two): a thousand shards
   * gone idle together would hold the event loop for seconds, so past a
   * slice the sweep goes on in the next turn.
   */
  private closeIdle(): void {
    const cutoff = Date.now() - this.options.idleMs;
    const started = performance.now();
    for (const [path, entry] of this.entries) {
      // Least recently used first: the first one still fresh ends the sweep.
      if (entry.lastUsed > cutoff) return;
      if (performance.now() - started >= SLICE_MS) {
        setImmediate(() => this.closeIdle());
        return;
      }
      this.counts.idleCloses++;
      this.close(path, entry);
    }
  }

  private closeOldest(): void {
    const [path, entry] = this.entries.entries().next().value!;
    this.counts.evictions++;
    this.close(path, entry);
  }

  private close(path: string, entry: Entry): void {
    this.entries.delete(path);
    entry.shard.close();
  }
}
