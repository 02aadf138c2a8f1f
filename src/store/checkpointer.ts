import { statSync } from "node:fs";
import { CHECKPOINT_WORKER, stopWorker } from "../workers";

/** SQLite's own auto-checkpoint point: 1,000 pages of 4 KiB. */
const WAL_LIMIT_BYTES = 1000 * 4096;

/**
 * A WAL checkpoint copies committed pages into the shard's main file and
 * fsyncs it. Left to the writing connection (SQLite checkpoints inline every
 * 1,000 pages) it stalls the event loop for an fsync, and for a hundred of
 * them when many shards fill up in step. So the shards whose WAL has passed
 * that size are handed to a worker thread, which checkpoints them on
 * connections of its own (one at a time, each open only for that), and the
 * writer's auto-checkpoint is raised to a backstop (see schema.ts).
 *
 * Only a write makes a WAL grow, so a shard is looked at once, 200 ms after a
 * write, and then forgotten until it is written again: the work is the
 * shards written lately, never every shard written since start, and with no
 * writes there is no timer at all. A WAL left under the limit is checkpointed
 * when its shard closes (SQLite does that for the last connection).
 *
 * The worker is started with the first WAL past the limit: most starts (a
 * command, a quiet service, a test) never reach one, and a worker's start
 * costs about a tenth of the service's.
 */
export class Checkpointer {
  private recent = new Set<string>();
  private worker: Worker | undefined;
  private timer: Timer | undefined;

  constructor(private readonly delayMs = 200) {}

  /** Notes that `path` has new commits in its WAL. */
  written(path: string): void {
    this.recent.add(path);
    if (this.timer) return;
    this.timer = setTimeout(() => this.check(), this.delayMs);
    this.timer.unref();
  }

  /** How many shards wait to be looked at: those written in the last moment, none when idle. */
  get watching(): number {
    return this.recent.size;
  }

  /** Stops the worker between two checkpoints, leaving no shard open (see stopWorker). */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    if (this.worker) await stopWorker(this.worker);
  }

  private check(): void {
    this.timer = undefined;
    const due: string[] = [];
    for (const path of this.recent) {
      // A shard deleted since (its website, or a month by retention) has no WAL: dropped like the rest.
      const wal = statSync(`${path}-wal`, { throwIfNoEntry: false });
      if (wal && wal.size >= WAL_LIMIT_BYTES) due.push(path);
    }
    this.recent = new Set();
    if (due.length === 0) return;
    if (!this.worker) {
      this.worker = new Worker(CHECKPOINT_WORKER);
      this.worker.unref();
    }
    this.worker.postMessage(due);
  }
}
