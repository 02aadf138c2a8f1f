import { AppError } from "../../errors";
import type { Logger } from "../../observe/log";
import { keepAliveWhile, QUERY_WORKER, stopWorker } from "../../workers";
import { ShardFault } from "../../store/shard-source";
import type { QueryRequest } from "./service";
import type { KeptVisitors } from "./website-visitors";
import type { WorkerMessage, WorkerReply, WorkerSetup } from "./worker";

export interface CacheStats {
  hits: number;
  misses: number;
  bytes: number;
}

interface Pending {
  resolve(body: string): void;
  reject(error: Error): void;
}

/** Why a query is refused once the engine is closed. */
const STOPPING = "the service is stopping";

/** A failed worker is replaced after this long, so a worker that cannot start does not spin. */
const RESTART_DELAY_MS = 1000;

/**
 * The main thread's side of the query worker: sends it queries, hands back
 * the JSON it answers. Should the worker die, the queries in flight (and
 * those that come before its replacement is up) fail with a 500.
 */
export class QueryEngine {
  /** Settles once the first worker has set itself up: until then no query can be answered. */
  readonly ready: Promise<void>;
  private readonly started = Promise.withResolvers<void>();
  private worker!: Worker;
  private down = false;
  private closed = false;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly counts = { hits: 0, misses: 0, bytes: 0 };
  private kept: KeptVisitors = { websites: 0, visitors: 0, bytes: 0 };
  private readonly faultsTold = new Set<string>();

  constructor(
    private readonly setup: WorkerSetup,
    private readonly log: Logger,
  ) {
    this.ready = this.started.promise;
    this.start();
  }

  /** The answer's JSON text, from the cache or computed. */
  run(request: QueryRequest): Promise<string> {
    return this.send({ id: this.nextId++, request });
  }

  /** `GET /_websites`: the JSON of every website with what its summaries know. */
  websites(): Promise<string> {
    return this.send({ id: this.nextId++, websites: true });
  }

  /**
   * Tells the worker a website was written to (see WebsiteList), before the
   * write is answered, so any request that follows it is told after.
   */
  written(website: string): void {
    // A worker being replaced starts with nothing known: nothing to tell it.
    if (!this.down) this.worker.postMessage({ written: [website] } satisfies WorkerMessage);
  }

  /** Drops the cached answers of a deleted website. */
  async forget(website: string): Promise<void> {
    await this.send({ id: this.nextId++, forget: website });
  }

  cacheStats(): CacheStats {
    return { ...this.counts };
  }

  /** What the worker keeps of websites' visitors (--visitor-memory), as of its last answer. */
  keptVisitors(): KeptVisitors {
    return { ...this.kept };
  }

  /** Stops the worker once its task in progress is done, leaving no shard open (see stopWorker). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.down) this.worker.terminate();
    else if ((await stopWorker(this.worker)) === "cut short") {
      this.log.warn("query worker still busy at stop; cut short, so a shard it read may keep its WAL file until the next start (nothing is lost)");
    }
    // Asked after the stop, or cut short: the worker is gone, nothing will answer them.
    for (const { reject } of this.pending.values()) reject(new Error(STOPPING));
    this.pending.clear();
  }

  private send(message: WorkerMessage & { id: number }): Promise<string> {
    if (this.closed) return Promise.reject(new Error(STOPPING));
    if (this.down) return Promise.reject(new Error("the query worker failed and is being replaced"));
    const { promise, resolve, reject } = Promise.withResolvers<string>();
    this.pending.set(message.id, { resolve, reject });
    keepAliveWhile(this.worker, true);
    this.worker.postMessage(message);
    return promise;
  }

  private start(): void {
    if (this.closed) return;
    this.down = false;
    this.worker = new Worker(QUERY_WORKER);
    // Ref'd until it is ready: the start awaits it.
    keepAliveWhile(this.worker, true);
    this.worker.onmessage = ({ data }: MessageEvent<WorkerReply>) => this.settle(data);
    this.worker.onerror = (event) => {
      this.log.error("query worker failed; starting another", { error: event.message });
      for (const { reject } of this.pending.values()) reject(new Error(`query worker failed: ${event.message}`));
      this.pending.clear();
      this.down = true;
      void this.worker.terminate();
      setTimeout(() => this.start(), RESTART_DELAY_MS).unref();
    };
    this.worker.postMessage({ setup: this.setup } satisfies WorkerMessage);
  }

  private settle(reply: WorkerReply): void {
    if ("ready" in reply) {
      keepAliveWhile(this.worker, this.pending.size > 0);
      return this.started.resolve();
    }
    if ("summariesBuilt" in reply) {
      for (const dir of reply.unreadable) this.log.warn("cannot list a website directory; its queries fail until it can be read", { dir });
      this.kept = reply.kept;
      this.log.info("summaries up to date", { shards: reply.summariesBuilt, visitorsKept: reply.kept.visitors });
      return;
    }
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    keepAliveWhile(this.worker, this.pending.size > 0);
    if ("error" in reply) {
      if (reply.code) pending.reject(new AppError(reply.code, reply.error));
      else pending.reject(reply.shard ? new ShardFault(reply.shard.path, new Error(reply.error), reply.shard.what) : new Error(reply.error));
      return;
    }
    this.counts.bytes = reply.cacheBytes;
    this.kept = reply.kept;
    for (const fault of reply.faults ?? []) {
      // A dashboard asks again and again: each fault is told once.
      if (this.faultsTold.has(fault)) continue;
      this.faultsTold.add(fault);
      this.log.warn("listing websites: cannot read", { fault });
    }
    if (reply.cache) this.counts[reply.cache === "hit" ? "hits" : "misses"]++;
    pending.resolve(reply.body);
  }
}
