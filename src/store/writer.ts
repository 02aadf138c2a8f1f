import type { Checkpointer } from "./checkpointer";
import type { ShardPool } from "./pool";
import type { Visit } from "./visit";

interface Batch {
  /** Each request's rows, kept apart so a 100,000-event bulk is never spread into one call. */
  parts: Visit[][];
  done: PromiseWithResolvers<void>;
}

/**
 * Group commit. Rows for a shard that arrive while the event loop is busy
 * with other requests wait for the end of that turn and are committed
 * together, in one transaction: one fsync-worthy commit for many requests.
 * A lone request waits for no timer, only for its own turn to end.
 *
 * Every caller learns the outcome of the transaction that holds its rows, so
 * a request is acknowledged only once its rows are committed.
 */
export class ShardWriter {
  private pending = new Map<string, Batch>();
  private scheduled = false;

  constructor(
    private readonly pool: ShardPool,
    private readonly checkpointer: Checkpointer,
  ) {}

  write(path: string, rows: Visit[]): Promise<void> {
    let batch = this.pending.get(path);
    if (!batch) {
      batch = { parts: [], done: Promise.withResolvers<void>() };
      this.pending.set(path, batch);
    }
    batch.parts.push(rows);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return batch.done.promise;
  }

  /** Commits everything queued; also called on shutdown, before the pool closes. */
  flush(): void {
    const batches = this.pending;
    this.pending = new Map();
    this.scheduled = false;
    for (const [path, { parts, done }] of batches) {
      try {
        this.pool.acquire(path, true).insert(parts);
        this.checkpointer.written(path);
        done.resolve();
      } catch (error) {
        done.reject(error);
      }
    }
  }
}
