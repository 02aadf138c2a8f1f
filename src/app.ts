import { Elysia } from "elysia";
import type { ConnectionTimeouts, Limits } from "./config/config";
import { auth, type Credentials } from "./http/auth";
import { errorResponses } from "./http/errors";
import { hostGuard } from "./http/host-guard";
import { observe } from "./http/observe";
import { adminRoutes, healthRoute, methodNotAllowed } from "./modules/admin";
import { dashboardRoutes } from "./modules/dashboard";
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
}

/**
 * The whole HTTP surface, in order: request log and metrics, error mapping,
 * the open routes (`GET /`, `/_health`, the dashboard's page), auth, then everything else, and last
 * the 405s for known paths asked with another method.
 */
export function createApp(deps: AppDeps) {
  const { version, store, ingest, credentials, limits, timeouts, retentionMonths, metrics, log, engine } = deps;
  return new Elysia()
    .use(observe(metrics, log))
    .use(errorResponses(log))
    .use(hostGuard)
    .get("/", () => ({ message: "Welcome to micro-analytics!", version }))
    .use(healthRoute(store, version))
    .use(dashboardRoutes(credentials))
    .use(auth(credentials))
    .use(ingestRoutes(ingest, limits, retentionMonths))
    .use(queryRoutes(store, engine, timeouts))
    .use(adminRoutes(store, metrics, engine))
    .use(methodNotAllowed());
}
