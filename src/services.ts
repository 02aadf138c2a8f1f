import type { AppDeps } from "./app";
import type { Config } from "./config/config";
import { createEnricher } from "./enrich/enrich";
import { openCountryLookup, type CountryLookup } from "./enrich/geoip";
import { createPlatformLookup } from "./enrich/platform";
import { createIngestService } from "./modules/ingest/service";
import { QueryEngine } from "./modules/query/engine";
import type { Logger } from "./observe/log";
import { Metrics } from "./observe/metrics";
import { cacheDirectory } from "./cache/directory";
import { lockRoot, type RootLock } from "./store/lock";
import { ShardPool } from "./store/pool";
import { oldestKeptMonth } from "./store/retention";
import { Store } from "./store/store";
import { version } from "../package.json";

const HOUR_MS = 3_600_000;

/** A reason the service cannot start, with a message a person can act on. */
export class StartupError extends Error {
  override name = "StartupError";
}

/** What the HTTP app needs, and how to release it all. */
export interface Services {
  deps: AppDeps;
  /** Commits what is queued, stops the workers and closes every shard. */
  close(): void;
}

/**
 * Opens everything the service needs, in order: the country database, the
 * root (locked against a second process), retention, and the query worker,
 * whose set-up is awaited, so that nothing listens before queries can be
 * answered. Throws StartupError when any of it cannot be had.
 */
export async function openServices(config: Config, log: Logger): Promise<Services> {
  let country: CountryLookup;
  try {
    country = openCountryLookup(config.geoip);
  } catch (error) {
    throw new StartupError(`--geoip: cannot read ${config.geoip} as a MaxMind database (${(error as Error).message}).`);
  }

  let store: Store;
  let lock: RootLock | undefined;
  try {
    const pool = new ShardPool({ maxOpen: config.connections, idleMs: config.idleTimeoutSeconds * 1000, sync: config.sync });
    store = new Store(config.root, pool);
    lock = lockRoot(config.root);
  } catch (error) {
    throw new StartupError(`--root: cannot use ${config.root} as the database directory (${(error as Error).message}).`);
  }
  if (!lock) {
    store.close();
    throw new StartupError(`--root: ${config.root} is in use by another micro-analytics process; stop it first, or give this one another --root.`);
  }
  store.removeLeftovers();

  let retention: Timer | undefined;
  if (config.retentionMonths > 0) {
    const expire = () => {
      const month = oldestKeptMonth(Math.floor(Date.now() / 1000), config.retentionMonths);
      const dropped = store.dropMonthsBefore(month);
      if (dropped > 0) log.info("retention: dropped old month shards", { shards: dropped, before: month });
    };
    expire();
    retention = setInterval(expire, HOUR_MS);
    retention.unref();
  }

  const engine = new QueryEngine(
    { root: config.root, sync: config.sync, cacheDir: cacheDirectory(config.cacheDirectory), cacheBytes: config.cacheMegabytes * 1024 * 1024 },
    log,
  );
  await engine.ready;

  const metrics = new Metrics();
  return {
    deps: {
      version,
      store,
      ingest: createIngestService(store, createEnricher(country, createPlatformLookup()), metrics, log),
      credentials: { user: config.user, password: config.password, token: config.token },
      limits: config.limits,
      retentionMonths: config.retentionMonths,
      metrics,
      log,
      engine,
    },
    close() {
      clearInterval(retention);
      engine.close();
      store.close();
      lock.release();
    },
  };
}
