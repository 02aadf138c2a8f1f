import { COPY_WORKER, keepAliveWhile } from "../workers";

/** What a shard holds, to tell two copies of it apart: its events and its event ids. */
export interface ShardCounts {
  events: number;
  ids: number;
}

type Work = { kind: "copy"; source: string; target: string } | { kind: "count"; path: string } | { kind: "verify"; path: string };

export type CopyRequest = Work & { id: number };

export type CopyReply = { id: number; counts: ShardCounts } | { id: number; error: string };

/** Work for a website whose writes are held jumps the queue: the hold lasts until it is done. */
export type Priority = "held" | "background";

interface Job {
  request: CopyRequest;
  waiting: PromiseWithResolvers<ShardCounts>;
}

/**
 * The main thread's side of the copy worker (copy-worker.ts), used when a
 * website moves between nodes. The worker takes one job at a time; jobs for
 * websites whose writes are held go first, so a hold never waits behind the
 * first copies of other websites moving at the same time. The worker starts
 * on first use, so a node that never moves a website never runs it.
 */
export class ShardCopier {
  private worker: Worker | undefined;
  private readonly queues: Record<Priority, Job[]> = { held: [], background: [] };
  private running: Job | undefined;
  private nextId = 1;

  /** Writes a consistent, compacted copy of the shard at `source` to `target` (which must not exist); answers the copy's counts. */
  copy(source: string, target: string, priority: Priority): Promise<ShardCounts> {
    return this.send({ kind: "copy", source, target }, priority);
  }

  count(path: string, priority: Priority): Promise<ShardCounts> {
    return this.send({ kind: "count", path }, priority);
  }

  /** Counts after SQLite's quick check; fails when the file is damaged. */
  verify(path: string, priority: Priority): Promise<ShardCounts> {
    return this.send({ kind: "verify", path }, priority);
  }

  close(): void {
    void this.worker?.terminate();
    this.worker = undefined;
  }

  private send(work: Work, priority: Priority): Promise<ShardCounts> {
    const job = { request: { ...work, id: this.nextId++ }, waiting: Promise.withResolvers<ShardCounts>() };
    this.queues[priority].push(job);
    this.next();
    return job.waiting.promise;
  }

  private next(): void {
    if (this.running) return;
    this.running = this.queues.held.shift() ?? this.queues.background.shift();
    if (this.running) this.start().postMessage(this.running.request);
    if (this.worker) keepAliveWhile(this.worker, this.running !== undefined);
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(COPY_WORKER);
    worker.onmessage = ({ data }: MessageEvent<CopyReply>) => {
      const job = this.running;
      this.running = undefined;
      if (job?.request.id === data.id) {
        if ("error" in data) job.waiting.reject(new Error(data.error));
        else job.waiting.resolve(data.counts);
      }
      this.next();
    };
    worker.onerror = (event) => {
      const failed = [this.running, ...this.queues.held.splice(0), ...this.queues.background.splice(0)];
      for (const job of failed) job?.waiting.reject(new Error(`copy worker failed: ${event.message}`));
      this.running = undefined;
      void worker.terminate();
      this.worker = undefined;
    };
    return (this.worker = worker);
  }
}
