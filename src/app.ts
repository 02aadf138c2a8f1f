import { Elysia } from "elysia";
import type { ConnectionTimeouts, Limits } from "./config/config";
import { auth, type Credentials } from "./http/auth";
import { errorResponses } from "./http/errors";
import { hostGuard } from "./http/host-guard";
import { nodeHeader } from "./http/node-header";
import { observe } from "./http/observe";
import { adminRoutes, healthRoute, methodNotAllowed } from "./modules/admin";
import { clusterRoutes, type ClusterDeps } from "./modules/cluster";
import type { BulkSplitter } from "./modules/cluster/forward";
import { ingestRoutes } from "./modules/ingest";
import type { IngestService } from "./modules/ingest/service";
import { queryRoutes } from "./modules/query";
import type { QueryEngine } from "./modules/query/engine";
import type { Logger } from "./observe/log";
import type { Metrics } from "./observe/metrics";
import type { Store } from "./store/store";

export interface AppDeps {
  version: string;
  store: Store;
  ingest: IngestService;
  credentials: Credentials;
  limits: Limits;
  timeouts: ConnectionTimeouts;
  retentionMonths: number;
  metrics: Metrics;
  log: Logger;
  engine: QueryEngine;
  cluster: ClusterDeps;
  /** Set with --router: `POST /bulk` is split by website and sent through the router. */
  splitBulk: BulkSplitter | undefined;
}

/**
 * The whole HTTP surface, in order: the node's name on every answer, request
 * log and metrics, error mapping, the open routes (`GET /`, `/_health`),
 * auth, the cluster's routes (which also refuse websites being moved), then
 * everything else, and last the 405s for known paths asked with another method.
 */
export function createApp(deps: AppDeps) {
  const { version, store, ingest, credentials, limits, timeouts, retentionMonths, metrics, log, engine, cluster, splitBulk } = deps;
  return new Elysia()
    .use(nodeHeader(cluster.nodeName))
    .use(observe(metrics, log))
    .use(errorResponses(log))
    .use(hostGuard)
    .get("/", () => ({ message: "Welcome to micro-analytics!", version }))
    .use(healthRoute(store, version))
    .use(auth(credentials))
    .use(clusterRoutes(cluster))
    .use(ingestRoutes(ingest, limits, retentionMonths, splitBulk))
    .use(queryRoutes(store, engine, timeouts))
    .use(adminRoutes(store, metrics, engine))
    .use(methodNotAllowed());
}
