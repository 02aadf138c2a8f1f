import { createApp } from "./app";
import { ConfigError, loadConfig, type Config } from "./config/config";
import { createEnricher } from "./enrich/enrich";
import { openCountryLookup } from "./enrich/geoip";
import { createPlatformLookup } from "./enrich/platform";
import { createIngestService } from "./modules/ingest/service";
import { ShardPool } from "./store/pool";
import { lockRoot } from "./store/lock";
import { Store } from "./store/store";
import { version } from "../package.json";

function fail(message: string, exitCode = 1): never {
  console.error(`micro-analytics: ${message}`);
  process.exit(exitCode);
}

function start(config: Config): void {
  let country;
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

  const app = createApp({
    version,
    store,
    ingest: createIngestService(store, createEnricher(country, createPlatformLookup())),
    credentials: { user: config.user, password: config.password, token: config.token },
    maxBodyBytes: config.maxBodyBytes,
  });

  try {
    app.listen({
      hostname: config.host,
      port: config.port,
      // Elysia turns port sharing on by default: a second instance would start
      // silently and split the traffic. A busy port must be an error instead.
      reusePort: false,
      // A backstop; readJsonBody refuses bodies over the limit with a JSON 413.
      maxRequestBodySize: config.maxBodyBytes + 64 * 1024,
    });
  } catch (error) {
    fail(`cannot listen on ${config.host}:${config.port} (${(error as Error).message}).`);
  }

  const server = app.server!;
  console.log(`micro-analytics ${version} listening on ${server.url.href} (root ${config.root})`);

  const shutdown = async () => {
    await server.stop();
    store.close();
    process.exit(0);
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

try {
  const command = loadConfig(process.argv.slice(2), process.env);
  if ("help" in command) console.log(command.help);
  else if ("version" in command) console.log(version);
  else start(command.run);
} catch (error) {
  if (error instanceof ConfigError) fail(error.message, 2);
  throw error;
}
