import { COPY_WORKER } from "../workers";

/** What a shard holds, to tell two copies of it apart: its events and its event ids. */
export interface ShardCounts {
  events: number;
  ids: number;
}

type Work = { kind: "copy"; source: string; target: string } | { kind: "count"; path: string } | { kind: "verify"; path: string };

export type CopyRequest = Work & { id: number };

export type CopyReply = { id: number; counts: ShardCounts } | { id: number; error: string };

/**
 * The main thread's side of the copy worker (copy-worker.ts), used when a
 * website moves between nodes. The worker starts on first use, so a node
 * that never moves a website never runs it.
 */
export class ShardCopier {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, PromiseWithResolvers<ShardCounts>>();
  private nextId = 1;

  /** Writes a consistent, compacted copy of the shard at `source` to `target` (which must not exist); answers the copy's counts. */
  copy(source: string, target: string): Promise<ShardCounts> {
    return this.send({ kind: "copy", source, target });
  }

  count(path: string): Promise<ShardCounts> {
    return this.send({ kind: "count", path });
  }

  /** Counts after SQLite's quick check; fails when the file is damaged. */
  verify(path: string): Promise<ShardCounts> {
    return this.send({ kind: "verify", path });
  }

  close(): void {
    void this.worker?.terminate();
    this.worker = undefined;
  }

  private send(work: Work): Promise<ShardCounts> {
    const id = this.nextId++;
    const waiting = Promise.withResolvers<ShardCounts>();
    this.pending.set(id, waiting);
    this.start().postMessage({ ...work, id } satisfies CopyRequest);
    return waiting.promise;
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(COPY_WORKER);
    worker.unref();
    worker.onmessage = ({ data }: MessageEvent<CopyReply>) => {
      const waiting = this.pending.get(data.id);
      this.pending.delete(data.id);
      if ("error" in data) waiting?.reject(new Error(data.error));
      else waiting?.resolve(data.counts);
    };
    worker.onerror = (event) => {
      for (const waiting of this.pending.values()) waiting.reject(new Error(`copy worker failed: ${event.message}`));
      this.pending.clear();
      void worker.terminate();
      this.worker = undefined;
    };
    return (this.worker = worker);
  }
}
