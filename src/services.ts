import type { AppDeps } from "./app";
import type { Config } from "./config/config";
import { createBotCheck } from "./enrich/bots";
import { createEnricher } from "./enrich/enrich";
import { openCountryLookup, type CountryLookup } from "./enrich/geoip";
import { openAddressPolicy, type AddressPolicy } from "./enrich/ip-mode";
import { createPlatformLookup } from "./enrich/platform";
import type { Credentials } from "./http/auth";
import { proxyTrust } from "./http/client-address";
import { NodeClient } from "./modules/cluster/client";
import { removeExportLeftovers } from "./modules/cluster/export";
import { Eraser } from "./modules/erasure/eraser";
import { createBulkSplitter } from "./modules/cluster/forward";
import { ImportArea } from "./modules/cluster/import";
import { WebsiteMover } from "./modules/cluster/move";
import { RebalanceGuard } from "./modules/cluster/rebalancing";
import { createIngestService } from "./modules/ingest/service";
import { QueryEngine } from "./modules/query/engine";
import type { Logger } from "./observe/log";
import { Metrics } from "./observe/metrics";
import { cacheDirectory, cacheDirectoryProblem } from "./cache/directory";
import { lockRoot, type RootLock } from "./store/lock";
import { ShardPool } from "./store/pool";
import { oldestKeptMonth } from "./store/retention";
import { ShardCopier } from "./store/shard-copier";
import { Store } from "./store/store";
import { version } from "../package.json";
import { version as embeddedGeoipVersion } from "@ip-location-db/geo-whois-asn-country-mmdb/package.json";

const HOUR_MS = 3_600_000;

/** A reason the service cannot start, with a message a person can act on. */
export class StartupError extends Error {
  override name = "StartupError";
}

/** What the HTTP app needs, and how to release it all. */
export interface Services {
  deps: AppDeps;
  /** The country database in use, for the start line: the path given, or the embedded one's name and version. */
  geoip: string;
  /**
   * What an app needs to serve the same root, through these same open
   * services, with `config`'s way of handling requests: its credentials,
   * limits, connection timeouts, CORS origins, trusted proxies and bot rule
   * (host, port and logging are the listener's). Everything else must be as
   * the services were opened with, or it throws naming the setting. What
   * the services keep is theirs alone: the shards, the query and erasure workers, the
   * metrics, the log, and the cluster's moves and the credentials they send
   * other nodes. Opening another root costs a query worker and a lock;
   * this costs nothing but the app.
   */
  reconfigured(config: Config): AppDeps;
  /** Reads what can change without a restart (the `--geoip` file) again, and logs what it did. */
  reload(): void;
  /**
   * Commits what is queued, stops the workers and closes every shard: the
   * query worker first, so that the writer's close of a shard is its last
   * connection's, which folds the WAL into the shard and removes it.
   */
  close(): Promise<void>;
}

/** The settings of `config` that only change how a request is handled, left out: what the services are opened with. */
function openedWith(config: Config) {
  const { user, password, token, ingestToken, ingestAuth, limits, timeouts, host, port, logLevel, logFormat, privacy, ...opened } = config;
  const { bots, trustProxy, proxyHeader, corsOrigins, ...kept } = privacy;
  return { ...opened, privacy: kept };
}

/** The embedded country database never changes: one reader serves every service a process opens. */
let embeddedCountries: CountryLookup | undefined;

/**
 * Opens everything the service needs, in order: the country database, the
 * root (locked against a second process), retention, and the query worker,
 * whose set-up is awaited, so that nothing listens before queries can be
 * answered. Throws StartupError when any of it cannot be had.
 */
export async function openServices(config: Config, log: Logger): Promise<Services> {
  let country: CountryLookup;
  try {
    country = config.geoip === undefined ? (embeddedCountries ??= openCountryLookup()) : openCountryLookup(config.geoip);
  } catch (error) {
    throw new StartupError(`--geoip: cannot read ${config.geoip} as a MaxMind database (${(error as Error).message}).`);
  }
  // Looked up through this, so that a reload swaps the database (and its memo) under the enricher.
  const lookupCountry: CountryLookup = (ip) => country(ip);

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
    await store.close();
    throw new StartupError(`--root: ${config.root} is in use by another micro-analytics process; stop it first, or give this one another --root.`);
  }
  store.removeLeftovers();

  const metrics = new Metrics();
  let addresses: AddressPolicy;
  try {
    addresses = openAddressPolicy({
      mode: config.privacy.ipMode,
      root: config.root,
      ipKeyFile: config.privacy.ipKeyFile,
      onAnonymized: () => metrics.eventAnonymized(),
      onKey: ({ path, created, warning }) => {
        if (created) log.notice(`--ip-mode hash: made the key ${path}; back it up with the data to keep linking returning visitors after a restore`);
        if (warning) log.warn(`--ip-key-file: ${warning}`);
      },
    });
  } catch (error) {
    await store.close();
    const flag = config.privacy.ipKeyFile === undefined ? "--ip-mode" : "--ip-key-file";
    throw new StartupError(`${flag}: cannot have the key for --ip-mode ${config.privacy.ipMode} (${(error as Error).message}).`);
  }

  let retention: Timer | undefined;
  if (config.retentionMonths > 0) {
    // A month it cannot delete is logged and tried again in an hour; never fatal, or systemd would restart it in a loop.
    const expire = () => {
      const month = oldestKeptMonth(Math.floor(Date.now() / 1000), config.retentionMonths);
      try {
        const { dropped, failed } = store.dropMonthsBefore(month);
        if (dropped > 0) log.info("retention: dropped old month shards", { shards: dropped, before: month });
        for (const { path, error } of failed) log.error("retention: cannot delete an old month; kept for now", { shard: path, error: String(error) });
      } catch (error) {
        log.error("retention: cannot list the shards; tried again in an hour", { error: String(error) });
      }
    };
    expire();
    retention = setInterval(expire, HOUR_MS);
    retention.unref();
  }

  const cacheDir = cacheDirectory(config.cacheDirectory);
  const cacheProblem = cacheDirectoryProblem(cacheDir);
  if (cacheProblem) log.warn(`--cache-directory: cannot keep the result cache in ${cacheDir} (${cacheProblem}); queries are answered, but uncached`);
  const engine = new QueryEngine(
    {
      root: config.root,
      cacheDir,
      cacheBytes: config.cacheMegabytes * 1024 * 1024,
      countVisitors: config.privacy.ipMode !== "none",
      visitorBytes: config.visitorMegabytes * 1024 * 1024,
    },
    log,
  );
  await engine.ready;
  store.onWritten = (website) => engine.written(website);

  const client = new NodeClient(credentialsOf(config));
  const copier = new ShardCopier();
  const eraser = new Eraser();
  const imports = new ImportArea(store, copier, client);
  imports.removeLeftovers();
  removeExportLeftovers(config.root);
  const forget = (website: string) => engine.forget(website);
  const { router, concurrency } = config.cluster;
  const cluster = {
    nodeName: config.nodeName,
    store,
    copier,
    imports,
    mover: new WebsiteMover(store, client, forget, log),
    rebalance: new RebalanceGuard(config.root, config.nodeName, client),
    forget,
    nodes: config.cluster.nodes,
    client,
    concurrency,
  };
  const platforms = createPlatformLookup();

  /** The app's dependencies for `handling`'s way of handling requests, over what was opened above. */
  const depsFor = (handling: Config): AppDeps => ({
    version,
    store,
    ingest: createIngestService(store, createEnricher(lookupCountry, platforms, addresses.store), metrics, log, handling.limits.maxNewShards),
    credentials: credentialsOf(handling),
    limits: handling.limits,
    timeouts: handling.timeouts,
    retentionMonths: config.retentionMonths,
    metrics,
    log,
    engine,
    eraser,
    privacy: handling.privacy,
    addresses,
    ingestEdge: {
      trust: proxyTrust(handling.privacy.trustProxy, handling.privacy.proxyHeader),
      dropBots: handling.privacy.bots === "drop" ? createBotCheck() : undefined,
      metrics,
      splitBulk: router === undefined ? undefined : createBulkSplitter(router, concurrency, handling.limits, client),
    },
    cluster,
  });
  const opened = openedWith(config);

  return {
    deps: depsFor(config),
    reconfigured(other) {
      const asked = openedWith(other);
      const differs = (Object.keys(opened) as (keyof typeof opened)[]).find((key) => !Bun.deepEquals(opened[key], asked[key]));
      if (differs) throw new Error(`reconfigured: ${differs} is not what the services were opened with; only how requests are handled can differ`);
      return depsFor(other);
    },
    geoip: config.geoip ?? `embedded geo-whois-asn-country ${embeddedGeoipVersion}`,
    reload() {
      if (config.geoip === undefined) {
        log.notice("SIGHUP: nothing to reload; the GeoIP database is the embedded one, and every other setting is read at start (restart to change it)");
        return;
      }
      try {
        country = openCountryLookup(config.geoip);
        log.notice(`SIGHUP: reloaded the GeoIP database ${config.geoip}`);
      } catch (error) {
        log.error(`SIGHUP: cannot read ${config.geoip} as a MaxMind database (${(error as Error).message}); still using the one read before`);
      }
    },
    async close() {
      clearInterval(retention);
      copier.close();
      eraser.close();
      addresses.close();
      await engine.close();
      await store.close();
      lock.release();
    },
  };
}

function credentialsOf(config: Config): Credentials {
  return {
    user: config.user,
    password: config.password,
    token: config.token,
    ingestToken: config.ingestToken,
    openIngest: config.ingestAuth === "none",
  };
}
