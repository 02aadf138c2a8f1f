import { ERASE_WORKER, keepAliveWhile } from "../../workers";
import type { Visitor } from "./visitor";
import type { EraseReply, EraseRequest, EraseWork } from "./worker";

/**
 * The main thread's side of the erasure worker (worker.ts). For each shard:
 * the worker scans it while the service goes on writing to it; then the
 * service's commits to that shard are held while the worker deletes the
 * rows found and the visitor's rows stored since, which takes milliseconds,
 * and released after: every event of the visitor stored in the shard until
 * then is gone. Shards are erased one at a time, in the order asked. The
 * worker starts on first use.
 */
export class Eraser {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, PromiseWithResolvers<number | null>>();
  private nextId = 1;
  private last: Promise<unknown> = Promise.resolve();

  /** Deletes the visitor's events from the shard at `path`; `hold` holds the service's writes to it until the function it answers is called. */
  eraseShard(path: string, visitor: Visitor, hold: () => () => void): Promise<number> {
    const run = this.last.then(() => this.run(path, visitor, hold));
    this.last = run.catch(() => {});
    return run;
  }

  close(): void {
    void this.worker?.terminate();
    this.worker = undefined;
    this.fail("the service is stopping");
  }

  private async run(path: string, visitor: Visitor, hold: () => () => void): Promise<number> {
    if ((await this.send({ scan: { path, visitor } })) === null) return 0;
    const release = hold();
    try {
      return (await this.send({ commit: true })) ?? 0;
    } finally {
      release();
    }
  }

  private send(work: EraseWork): Promise<number | null> {
    const id = this.nextId++;
    const answer = Promise.withResolvers<number | null>();
    this.waiting.set(id, answer);
    const request: EraseRequest = { ...work, id };
    const worker = this.start();
    keepAliveWhile(worker, true);
    worker.postMessage(request);
    return answer.promise;
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(ERASE_WORKER);
    worker.onmessage = ({ data }: MessageEvent<EraseReply>) => {
      const answer = this.waiting.get(data.id);
      this.waiting.delete(data.id);
      keepAliveWhile(worker, this.waiting.size > 0);
      if ("error" in data) answer?.reject(new Error(data.error));
      else answer?.resolve("found" in data ? data.found : data.removed);
    };
    worker.onerror = (event) => {
      void worker.terminate();
      this.worker = undefined;
      this.fail(`the erasure worker failed: ${event.message}`);
    };
    return (this.worker = worker);
  }

  private fail(reason: string): void {
    for (const answer of this.waiting.values()) answer.reject(new Error(reason));
    this.waiting.clear();
  }
}
