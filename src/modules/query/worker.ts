/**
 * The query worker: computes answers off the event loop, so a year-long
 * breakdown never delays an ingest request. It opens the shards a query needs
 * and closes them after (TransientShards), and keeps answers in the disk
 * cache while their shards are unchanged. Between queries, after start, it
 * brings the month summaries up to date.
 */
import { ResultCache, type Versions } from "../../cache/result-cache";
import { ShardFault, shardVersion, TransientShards } from "../../store/shard-source";
import type { SyncMode } from "../../store/schema";
import { answer, type QueryRequest } from "./service";
import { buildSummaries } from "./summary-builder";

declare const self: Worker;

export interface WorkerSetup {
  root: string;
  sync: SyncMode;
  cacheDir: string;
  cacheBytes: number;
  /** False with --ip-mode none: no address is stored, so unique visitors are answered 0, not 1. */
  countVisitors: boolean;
}

export type WorkerMessage = { setup: WorkerSetup } | { id: number; request: QueryRequest } | { id: number; forget: string };

export type WorkerReply =
  | { ready: true }
  | { summariesBuilt: number }
  | { id: number; body: string; cached: boolean; cacheBytes: number }
  | { id: number; error: string; shard?: string };

let shards: TransientShards;
let cache: ResultCache;
let countVisitors = true;

self.onmessage = ({ data }: MessageEvent<WorkerMessage>) => {
  if ("setup" in data) {
    shards = new TransientShards(data.setup.root, data.setup.sync);
    cache = new ResultCache(data.setup.cacheDir, data.setup.cacheBytes);
    countVisitors = data.setup.countVisitors;
    buildSummaries(data.setup.root, (shards) => reply({ summariesBuilt: shards }));
    return reply({ ready: true });
  }
  try {
    if ("forget" in data) {
      cache.forget(data.forget);
      return reply({ id: data.id, body: "", cached: false, cacheBytes: cache.sizeBytes });
    }
    reply({ id: data.id, ...run(countVisitors ? data.request : withoutVisitors(data.request)), cacheBytes: cache.sizeBytes });
  } catch (error) {
    // A shard's fault travels as the file and what SQLite said of it; anything else with its stack.
    if (error instanceof ShardFault) reply({ id: data.id, error: String((error.cause as Error)?.message ?? error.cause), shard: error.path });
    else reply({ id: data.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
};

function run(request: QueryRequest): { body: string; cached: boolean } {
  const key = JSON.stringify(request);
  const versions: Versions = {};
  for (const month of shards.months(request.website, request.range)) {
    versions[month] = shards.withShard(request.website, month, (shard, path) => shardVersion(path, shard));
  }
  const hit = cache.get(request.website, key, versions);
  if (hit !== undefined) return { body: hit, cached: true };
  const body = JSON.stringify(answer(shards, request));
  cache.put(request.website, key, versions, body);
  return { body, cached: false };
}

/** The query asking for no visitors: its answer, and the cache key it is kept under, differ from the one that counts them. */
function withoutVisitors(request: QueryRequest): QueryRequest {
  return { ...request, unique: false };
}

function reply(message: WorkerReply): void {
  self.postMessage(message);
}
