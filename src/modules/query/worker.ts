/**
 * The query worker: computes answers off the event loop, so a year-long
 * breakdown never delays an ingest request. It opens the shards a query needs
 * read-only and closes them after (TransientShards), and keeps answers in the
 * disk cache while their shards are unchanged. Between queries, after start,
 * it brings the month summaries up to date.
 */
import { ResultCache, type Versions } from "../../cache/result-cache";
import type { ErrorCode } from "../../errors";
import { ShardFault, ShardGone, TransientShards } from "../../store/shard-source";
import { STOP } from "../../workers";
import { answer, type QueryRequest } from "./service";
import { buildSummaries } from "./summary-builder";
import { WebsiteList } from "./websites";
import { type KeptVisitors, VisitorSpaces } from "./website-visitors";

declare const self: Worker;

export interface WorkerSetup {
  root: string;
  cacheDir: string;
  cacheBytes: number;
  /** False with --ip-mode none: no address is stored, so unique visitors are answered 0, not 1. */
  countVisitors: boolean;
  /** Most bytes of websites' visitors kept between queries (--visitor-memory). */
  visitorBytes: number;
}

export type WorkerMessage =
  | typeof STOP
  | { setup: WorkerSetup }
  | { id: number; request: QueryRequest }
  | { id: number; forget: string }
  | { id: number; websites: true }
  | { written: string[] };

export type WorkerReply =
  | { ready: true }
  | { summariesBuilt: number; unreadable: string[]; kept: KeptVisitors }
  /**
   * `cache`: for a query, whether the answer came from the cache; `faults`:
   * what could not be read while listing websites; `kept`: the websites'
   * visitors kept in memory.
   */
  | { id: number; body: string; cache?: "hit" | "miss"; cacheBytes: number; kept: KeptVisitors; faults?: string[] }
  /** `code`: the client's own error (a 404 for a website deleted meanwhile); `shard`: the file or directory at fault. */
  | { id: number; error: string; code?: ErrorCode; shard?: { path: string; what: string } };

let shards: TransientShards;
let cache: ResultCache;
let websites: WebsiteList;
let visitors: VisitorSpaces;
let countVisitors = true;

/** Websites read at a time when the list is filled after start, between queries. */
const WARM_WEBSITES = 500;

self.onmessage = ({ data }: MessageEvent<WorkerMessage>) => {
  // Between two tasks, so no shard is open; the summaries' next step is dropped with the rest.
  // (In a worker, process.exit ends the worker alone.)
  if (data === STOP) process.exit(0);
  if ("setup" in data) {
    shards = new TransientShards(data.setup.root);
    cache = new ResultCache(data.setup.cacheDir, data.setup.cacheBytes);
    countVisitors = data.setup.countVisitors;
    visitors = new VisitorSpaces(data.setup.visitorBytes);
    websites = new WebsiteList(shards);
    buildSummaries(shards, (built) => {
      // Then the list of websites, so the first /_websites need not walk them all; then the busiest websites' visitors.
      const step = () => {
        if (!websites.warm(WARM_WEBSITES)) return setTimeout(step, 0);
        visitors.warm(shards, built.visitors, () => reply({ summariesBuilt: built.shards, unreadable: built.unreadable, kept: visitors.held() }));
      };
      setTimeout(step, 0);
    });
    return reply({ ready: true });
  }
  if ("written" in data) return websites.touch(data.written);
  if ("forget" in data) {
    // Deleted, or visitors erased from it: what was known of it no longer holds.
    shards.forget(data.forget);
    cache.forget(data.forget);
    visitors.forget(data.forget);
    websites.touch([data.forget]);
    return reply({ id: data.id, body: "", ...held() });
  }
  if ("websites" in data) {
    try {
      const { list, faults } = websites.list();
      return reply({ id: data.id, body: JSON.stringify({ list }), ...held(), faults });
    } catch (error) {
      return reply({ id: data.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
  }
  const { website } = data.request;
  try {
    const result = shards.task(() => run(countVisitors ? data.request : withoutVisitors(data.request)));
    // Deleted while it was read: what was read may be part of it only.
    if (!shards.hasWebsite(website)) return reply(gone(data.id, website));
    reply({ id: data.id, ...result, ...held() });
  } catch (error) {
    if (!shards.hasWebsite(website)) return reply(gone(data.id, website));
    // A shard's fault travels as the file and what SQLite said of it; anything else with its stack.
    if (error instanceof ShardFault) {
      return reply({ id: data.id, error: String((error.cause as Error)?.message ?? error.cause), shard: { path: error.path, what: error.what } });
    }
    reply({ id: data.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
};

function run(request: QueryRequest): { body: string; cache: "hit" | "miss" } {
  const key = JSON.stringify(request);
  const versions: Versions = {};
  for (const month of shards.months(request.website, request.range)) {
    try {
      versions[month] = shards.version(request.website, month);
    } catch (error) {
      if (!(error instanceof ShardGone)) throw error;
    }
  }
  const hit = cache.get(request.website, key, versions);
  if (hit !== undefined) return { body: hit, cache: "hit" };
  let body: string;
  try {
    body = JSON.stringify(answer({ shards, visitors }, request));
  } finally {
    visitors.trim();
  }
  cache.put(request.website, key, versions, body);
  return { body, cache: "miss" };
}

/** What each answer tells the main thread of the worker's stores, for the metrics. */
function held(): { cacheBytes: number; kept: KeptVisitors } {
  return { cacheBytes: cache.sizeBytes, kept: visitors.held() };
}

function gone(id: number, website: string): WorkerReply {
  return { id, code: "InvalidDatabaseName", error: `There is no website named "${website}"; it was deleted while the query ran.` };
}

/** The query asking for no visitors: its answer, and the cache key it is kept under, differ from the one that counts them. */
function withoutVisitors(request: QueryRequest): QueryRequest {
  return { ...request, unique: false };
}

function reply(message: WorkerReply): void {
  self.postMessage(message);
}
