import { createApp } from "./app";
import type { Config } from "./config/config";
import { createEnricher } from "./enrich/enrich";
import { openCountryLookup, type CountryLookup } from "./enrich/geoip";
import { createPlatformLookup } from "./enrich/platform";
import { createLogger } from "./observe/log";
import { Metrics } from "./observe/metrics";
import { createIngestService } from "./modules/ingest/service";
import { lockRoot } from "./store/lock";
import { ShardPool } from "./store/pool";
import { oldestKeptMonth } from "./store/retention";
import { Store } from "./store/store";
import { cacheDirectory } from "./cache/directory";
import { QueryEngine } from "./modules/query/engine";
import { version } from "../package.json";

const HOUR_MS = 3_600_000;
/** After SIGTERM, requests in flight get this long before their connections are closed. */
const SHUTDOWN_GRACE_MS = 10_000;

/** Refuses to start with a message and exit code 1. */
function fail(message: string): never {
  console.error(`micro-analytics: ${message}`);
  process.exit(1);
}

/** Opens everything the service needs, listens, and closes it all on SIGTERM or SIGINT. */
export function serve(config: Config): void {
  const log = createLogger(config.logLevel, config.logFormat);
  const metrics = new Metrics();
  let country: CountryLookup;
  try {
    country = openCountryLookup(config.geoip);
  } catch (error) {
    fail(`--geoip: cannot read ${config.geoip} as a MaxMind database (${(error as Error).message}).`);
  }

  let store: Store;
  let locked: boolean;
  try {
    const pool = new ShardPool({ maxOpen: config.connections, idleMs: config.idleTimeoutSeconds * 1000, sync: config.sync });
    store = new Store(config.root, pool);
    locked = lockRoot(config.root);
  } catch (error) {
    fail(`--root: cannot use ${config.root} as the database directory (${(error as Error).message}).`);
  }
  if (!locked) {
    fail(`--root: ${config.root} is in use by another micro-analytics process; stop it first, or give this one another --root.`);
  }
  store.removeLeftovers();

  if (config.retentionMonths > 0) {
    const expire = () => {
      const month = oldestKeptMonth(Math.floor(Date.now() / 1000), config.retentionMonths);
      const dropped = store.dropMonthsBefore(month);
      if (dropped > 0) log.info("retention: dropped old month shards", { shards: dropped, before: month });
    };
    expire();
    setInterval(expire, HOUR_MS).unref();
  }

  const engine = new QueryEngine(
    { root: config.root, sync: config.sync, cacheDir: cacheDirectory(config.cacheDirectory), cacheBytes: config.cacheMegabytes * 1024 * 1024 },
    log,
  );

  const app = createApp({
    version,
    store,
    ingest: createIngestService(store, createEnricher(country, createPlatformLookup()), metrics, log),
    credentials: { user: config.user, password: config.password, token: config.token },
    limits: config.limits,
    retentionMonths: config.retentionMonths,
    metrics,
    log,
    engine,
  });

  try {
    app.listen({
      hostname: config.host,
      port: config.port,
      // Elysia turns port sharing on by default: a second instance would start
      // silently and split the traffic. A busy port must be an error instead.
      reusePort: false,
      // readJsonBody refuses a body over the limit, with a JSON 413, as soon as
      // its length is known; Bun's own cut, further out, answers without one.
      maxRequestBodySize: Math.max(config.limits.maxBodyBytes * 4, 64 * 1024 * 1024),
    });
  } catch (error) {
    fail(`cannot listen on ${config.host}:${config.port} (${(error as Error).message}).`);
  }

  const server = app.server!;
  log.notice(`micro-analytics ${version} listening on ${server.url.href} (root ${config.root})`);

  const shutdown = async (signal: string) => {
    const started = performance.now();
    log.notice(`${signal}: no new connections; answering the requests in flight`);
    const grace = setTimeout(() => {
      log.warn(`requests still in flight after ${SHUTDOWN_GRACE_MS / 1000} s; closing their connections`);
      void server.stop(true);
    }, SHUTDOWN_GRACE_MS);
    await server.stop();
    clearTimeout(grace);
    // Elysia logs and counts an answered request one turn after sending it.
    await new Promise((resolve) => setImmediate(resolve));
    engine.close();
    store.close();
    log.notice(`stopped in ${Math.round(performance.now() - started)} ms; every shard closed`);
    process.exit(0);
  };
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.once("SIGTERM", () => shutdown("SIGTERM"));
}
