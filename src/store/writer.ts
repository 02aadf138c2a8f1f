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
 */
export class ShardWriter {
  private readonly queue = new Map<string, Batch>();
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
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => void this.drain());
    }
    return batch.done.promise.then((duplicates) => duplicates[part]!);
  }

  /** Commits everything queued, at once; on shutdown, before the pool closes. */
  flush(): void {
    while (this.commitNext());
  }

  private async drain(): Promise<void> {
    let sliceStart = performance.now();
    while (this.commitNext()) {
      if (performance.now() - sliceStart >= SLICE_MS) {
        await nextTurn();
        sliceStart = performance.now();
      }
    }
    this.draining = false;
  }

  /** Commits the oldest batch; false when none is queued. */
  private commitNext(): boolean {
    const next = this.queue.entries().next();
    if (next.done) return false;
    const [path, { parts, done }] = next.value;
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
}
