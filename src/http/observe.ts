import { Elysia } from "elysia";
import type { Logger } from "../observe/log";
import type { Metrics } from "../observe/metrics";
import { pathOf } from "./website-param";

/**
 * One log line and one metrics sample per answered request: method, path
 * (never the query string, which may carry a token), status and duration.
 * The status is read from `set.status`, which the error handler sets too.
 */
export function observe(metrics: Metrics, log: Logger) {
  const started = new WeakMap<Request, number>();
  return new Elysia({ name: "observe" })
    .onRequest(({ request }) => {
      started.set(request, performance.now());
    })
    .onAfterResponse({ as: "global" }, ({ request, route, set }) => {
      const ms = performance.now() - (started.get(request) ?? performance.now());
      const status = typeof set.status === "number" ? set.status : 200;
      metrics.observeRequest(route || "unmatched", request.method, status, ms / 1000);
      log.info(`${request.method} ${pathOf(request)} ${status} ${ms.toFixed(1)}ms`);
    });
}
