import { Elysia } from "elysia";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AppError } from "../../errors";
import { websiteParam } from "../../http/website-param";
import type { Metrics } from "../../observe/metrics";
import type { QueryEngine } from "../query/engine";
import type { Store } from "../../store/store";

/** How long a reading of the bytes on disk is reused: walking a large root is not free. */
const DISK_READING_MS = 30_000;

/** `GET /_health`: open to all, so a load balancer or systemd probe needs no secret. */
export function healthRoute(store: Store, version: string) {
  return new Elysia({ name: "health" }).get("/_health", ({ set }) => {
    const writable = isWritable(store.root);
    set.status = writable ? 200 : 503;
    return { status: writable ? "ok" : "degraded", writable, version };
  });
}

/** `GET /_metrics` (Prometheus text) and `DELETE /:website`, behind auth when it is on. */
export function adminRoutes(store: Store, metrics: Metrics, engine: QueryEngine) {
  let disk = { bytes: 0, at: -Infinity };
  const diskBytes = () => {
    if (performance.now() - disk.at > DISK_READING_MS) disk = { bytes: store.diskBytes(), at: performance.now() };
    return disk.bytes;
  };

  return new Elysia({ name: "admin" })
    .get("/_metrics", ({ set }) => {
      const pool = store.poolStats();
      const cache = engine.cacheStats();
      const kept = engine.keptVisitors();
      set.headers["content-type"] = "text/plain; version=0.0.4; charset=utf-8";
      return metrics.render([
        { name: "shards_open", help: "Shard files open in the pool.", type: "gauge", value: pool.open },
        { name: "pool_hits_total", help: "Shard requests served by an open handle.", type: "counter", value: pool.hits },
        { name: "pool_misses_total", help: "Shard requests that opened a file.", type: "counter", value: pool.misses },
        { name: "pool_evictions_total", help: "Shards closed to make room (--connections).", type: "counter", value: pool.evictions },
        { name: "pool_idle_closes_total", help: "Shards closed after --idle-timeout unused.", type: "counter", value: pool.idleCloses },
        { name: "cache_hits_total", help: "Answers served from the result cache.", type: "counter", value: cache.hits },
        { name: "cache_misses_total", help: "Answers computed from the shards.", type: "counter", value: cache.misses },
        { name: "cache_bytes", help: "Bytes of the result cache on disk.", type: "gauge", value: cache.bytes },
        { name: "visitors_kept", help: "Visitors the query worker keeps in memory, of all websites (--visitor-memory).", type: "gauge", value: kept.visitors },
        { name: "visitors_kept_bytes", help: "Bytes of memory they take.", type: "gauge", value: kept.bytes },
        { name: "disk_bytes", help: "Bytes of files under the root (read at most every 30 s).", type: "gauge", value: diskBytes() },
      ]);
    })
    .delete("/:website", async ({ params, request }) => {
      const website = websiteParam(params.website, request);
      if (!store.deleteWebsite(website)) {
        throw new AppError("InvalidDatabaseName", `There is no website named "${website}".`);
      }
      await engine.forget(website);
      return { deleted: website };
    });
}

/** Answers 405 with `Allow` for a known path asked with another method. */
export function methodNotAllowed() {
  const refuse = (allow: string) => ({ request }: { request: Request }) => {
    throw new AppError("MethodNotAllowed", `${request.method} is not allowed here; use ${allow}.`, { Allow: allow });
  };
  return new Elysia({ name: "method-not-allowed" })
    .all("/", refuse("GET"))
    .all("/_health", refuse("GET"))
    .all("/_metrics", refuse("GET"))
    .all("/_script.js", refuse("GET"))
    .all("/_websites", refuse("GET"))
    .all("/_dashboard", refuse("GET"))
    .all("/:website", refuse("GET, POST, DELETE"))
    .all("/:website/bulk", refuse("POST"))
    .all("/:website/:property", refuse("GET"))
    .all("/:website/visitors/:ip", refuse("DELETE"));
}

function isWritable(root: string): boolean {
  const probe = join(root, `.health-${process.pid}`);
  try {
    writeFileSync(probe, "ok");
    rmSync(probe, { force: true });
    return true;
  } catch {
    return false;
  }
}
