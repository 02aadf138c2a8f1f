import { statSync } from "node:fs";
import { CHECKPOINT_WORKER } from "../workers";

/** SQLite's own auto-checkpoint point: 1,000 pages of 4 KiB. */
const WAL_LIMIT_BYTES = 1000 * 4096;

/**
 * A WAL checkpoint copies committed pages into the shard's main file and
 * fsyncs it. Left to the writing connection (SQLite checkpoints inline every
 * 1,000 pages) it stalls the event loop for an fsync, and for a hundred of
 * them when many shards fill up in step. So five times a second the shards
 * whose WAL has passed that size are handed to a worker thread, which
 * checkpoints them on connections of its own (one at a time, each open only
 * for that), and the writer's auto-checkpoint is raised to a backstop (see
 * schema.ts).
 */
export class Checkpointer {
  private dirty = new Set<string>();
  private readonly worker: Worker;
  private readonly timer: Timer;

  constructor(intervalMs = 200) {
    this.worker = new Worker(CHECKPOINT_WORKER);
    this.worker.unref();
    this.timer = setInterval(() => this.send(), intervalMs);
    this.timer.unref();
  }

  /** Notes that `path` has new commits in its WAL. */
  written(path: string): void {
    this.dirty.add(path);
  }

  close(): void {
    clearInterval(this.timer);
    void this.worker.terminate();
  }

  private send(): void {
    const due: string[] = [];
    for (const path of this.dirty) {
      const wal = statSync(`${path}-wal`, { throwIfNoEntry: false });
      if (wal && wal.size >= WAL_LIMIT_BYTES) {
        due.push(path);
        this.dirty.delete(path);
      }
    }
    if (due.length > 0) this.worker.postMessage(due);
  }
}
