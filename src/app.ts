import { Elysia } from "elysia";
import type { ConnectionTimeouts, Limits } from "./config/config";
import type { AddressPolicy } from "./enrich/ip-mode";
import { auth, type Credentials } from "./http/auth";
import { cors } from "./http/cors";
import { errorResponses } from "./http/errors";
import { hostGuard } from "./http/host-guard";
import { nodeHeader } from "./http/node-header";
import { observe } from "./http/observe";
import { adminRoutes, healthRoute, methodNotAllowed } from "./modules/admin";
import { clusterRoutes, type ClusterDeps } from "./modules/cluster";
import { dashboardRoutes } from "./modules/dashboard";
import { erasureRoutes } from "./modules/erasure";
import type { Eraser } from "./modules/erasure/eraser";
import { ingestRoutes, type IngestEdge } from "./modules/ingest";
import type { IngestService } from "./modules/ingest/service";
import { queryRoutes } from "./modules/query";
import type { QueryEngine } from "./modules/query/engine";
import { trackerRoute } from "./modules/tracker";
import type { Privacy } from "./config/config";
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
  eraser: Eraser;
  privacy: Privacy;
  addresses: AddressPolicy;
  ingestEdge: IngestEdge;
  cluster: ClusterDeps;
}

/**
 * The whole HTTP surface, in order: the node's name on every answer, request
 * log and metrics, error mapping, the open routes (`GET /`, `/_health`,
 * `/_script.js`, CORS preflights, the dashboard's page), auth, the cluster's
 * routes (which also refuse websites being moved), then everything else, and
 * last the 405s for known paths asked with another method.
 */
export function createApp(deps: AppDeps) {
  const { version, store, ingest, credentials, limits, timeouts, retentionMonths, metrics, log, engine, eraser, privacy, addresses, ingestEdge, cluster } = deps;
  return new Elysia()
    .use(nodeHeader(cluster.nodeName))
    .use(observe(metrics, log, privacy.ipMode === "keep"))
    .use(errorResponses(log))
    .use(hostGuard)
    .get("/", () => ({ message: "Welcome to micro-analytics!", version }))
    .use(healthRoute(store, version))
    .use(trackerRoute())
    .use(cors(privacy.corsOrigins))
    .use(dashboardRoutes(credentials))
    .use(auth(credentials))
    .use(clusterRoutes(cluster))
    .use(ingestRoutes(ingest, limits, retentionMonths, ingestEdge))
    .use(erasureRoutes(store, eraser, engine, addresses, metrics, limits.maxFieldLength, timeouts))
    .use(queryRoutes(store, engine, timeouts))
    .use(adminRoutes(store, metrics, engine))
    .use(methodNotAllowed());
}
