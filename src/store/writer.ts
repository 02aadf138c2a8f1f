import type { Checkpointer } from "./checkpointer";
import type { ShardPool } from "./pool";
import { nextTurn, SLICE_MS } from "./turns";
import type { NewVisit } from "./visit";

interface Batch {
  /** Each request's rows, kept apart so a 100,000-event bulk is never spread into one call. */
  parts: NewVisit[][];
  /** Settles with how many events of each part were duplicates (ids stored already). */
  done: PromiseWithResolvers<number[]>;
}

/**
 * Group commit. Rows for a shard that arrive while the event loop is busy
 * with other requests wait for the end of that turn and are committed
 * together, in one transaction: one fsync-worthy commit for many requests.
 * A lone request waits for no timer, only for its own turn to end.
 *
 * Shards are committed one after another, oldest batch first. A commit is
 * cheap when the shard is open, but one that must open it (and start its
 * WAL) costs fsyncs, so after a slice of such work the rest waits for the
 * next turn and other requests are answered in between; rows that arrive
 * meanwhile for a shard still waiting join its batch.
 *
 * Every caller learns the outcome of the transaction that holds its rows, so
 * a request is acknowledged only once its rows are committed.
 *
 * A shard can be held: its batch then waits, gathering rows, while the
 * other shards are committed, until the hold is released. Another thread
 * has the shard's write lock meanwhile (an erasure), which a commit here
 * would wait for in SQLite's busy handler, holding the event loop.
 */
export class ShardWriter {
  private readonly queue = new Map<string, Batch>();
  private readonly held = new Map<string, number>();
  private draining = false;

  constructor(
    private readonly pool: ShardPool,
    private readonly checkpointer: Checkpointer,
  ) {}

  /** Settles once `rows` are committed, with how many of them were left out as duplicates. */
  write(path: string, rows: NewVisit[]): Promise<number> {
    let batch = this.queue.get(path);
    if (!batch) {
      batch = { parts: [], done: Promise.withResolvers<number[]>() };
      this.queue.set(path, batch);
    }
    const part = batch.parts.push(rows) - 1;
    this.startDraining();
    return batch.done.promise.then((duplicates) => duplicates[part]!);
  }

  /** Keeps commits to `path` waiting until the function returned is called (once). */
  hold(path: string): () => void {
    this.held.set(path, (this.held.get(path) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.held.get(path)! - 1;
      if (left > 0) this.held.set(path, left);
      else this.held.delete(path);
      if (this.queue.has(path)) this.startDraining();
    };
  }

  /** Commits everything queued, at once, held or not; on shutdown, before the pool closes. */
  flush(): void {
    while (this.commitNext(true));
  }

  private startDraining(): void {
    if (this.draining) return;
    this.draining = true;
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    let sliceStart = performance.now();
    while (this.commitNext(false)) {
      if (performance.now() - sliceStart >= SLICE_MS) {
        await nextTurn();
        sliceStart = performance.now();
      }
    }
    this.draining = false;
  }

  /** Commits the oldest batch (of a shard not held, unless `evenHeld`); false when there is none. */
  private commitNext(evenHeld: boolean): boolean {
    const next = this.oldestBatch(evenHeld);
    if (next === undefined) return false;
    const [path, { parts, done }] = next;
    this.queue.delete(path);
    try {
      const duplicates = this.pool.acquire(path, true).insert(parts);
      this.checkpointer.written(path);
      done.resolve(duplicates);
    } catch (error) {
      done.reject(error);
    }
    return true;
  }

  private oldestBatch(evenHeld: boolean): [string, Batch] | undefined {
    for (const entry of this.queue) {
      if (evenHeld || !this.held.has(entry[0])) return entry;
    }
    return undefined;
  }
}
