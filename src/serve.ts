import { createApp } from "./app";
import type { Config } from "./config/config";
import { authIsOn, type Credentials } from "./http/auth";
import { createLogger, type Fields } from "./observe/log";
import { notifySystemd } from "./observe/systemd";
import { openServices, StartupError } from "./services";
import { version } from "../package.json";

/** After SIGTERM, requests in flight get this long before their connections are closed. */
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Opens the services, listens, and closes it all on SIGTERM or SIGINT; SIGHUP
 * reloads what can be reloaded. Throws StartupError when it cannot start.
 */
export async function serve(config: Config): Promise<void> {
  const log = createLogger(config.logLevel, config.logFormat);
  const services = await openServices(config, log);
  const app = createApp(services.deps);

  try {
    app.listen({
      hostname: config.host,
      port: config.port,
      // Elysia turns port sharing on by default: a second instance would start
      // silently and split the traffic. A busy port must be an error instead.
      reusePort: false,
      // Bun's idle timeout, which the query routes lift while they compute and put back after.
      idleTimeout: config.timeouts.keepaliveSeconds,
      // readJsonBody refuses a body over the limit, with a JSON 413, as soon as
      // its length is known; Bun's own cut, further out, answers without one.
      maxRequestBodySize: Math.max(config.limits.maxBodyBytes * 4, 64 * 1024 * 1024),
    });
  } catch (error) {
    await services.close();
    throw new StartupError(`cannot listen on ${config.host}:${config.port} (${(error as Error).message}).`);
  }

  const server = app.server!;
  const { credentials } = services.deps;
  log.notice(`micro-analytics ${version} listening on ${server.url.href}`, {
    root: config.root,
    auth: describeAuth(credentials),
    ingest: describeIngest(credentials),
    geoip: services.geoip,
    connections: config.connections,
    idleTimeout: config.idleTimeoutSeconds,
    cacheDirectory: config.cacheDirectory,
    cacheSizeMiB: config.cacheMegabytes,
    visitorMemoryMiB: config.visitorMegabytes,
    keepaliveTimeout: config.timeouts.keepaliveSeconds,
    sendTimeout: config.timeouts.sendSeconds,
    sync: config.sync,
    retentionMonths: config.retentionMonths,
    ipMode: config.privacy.ipMode,
    bots: config.privacy.bots,
    trustProxy: config.privacy.trustProxy.map(({ address, prefix }) => `${address}/${prefix}`).join(",") || "none",
    cors: Array.isArray(config.privacy.corsOrigins) ? config.privacy.corsOrigins.join(",") : config.privacy.corsOrigins,
    logLevel: config.logLevel,
    node: config.nodeName,
    router: config.cluster.router,
    nodes: config.cluster.nodes.length > 0 ? config.cluster.nodes.join(",") : undefined,
  } satisfies Fields);
  if (!authIsOn(credentials)) {
    log.warn(
      `no credentials are set: anyone who can reach ${server.url.href} can read every event, visitors' addresses included, and DELETE any website. ` +
        "Set --user/--password or --token (MA_USER/MA_PASSWORD, MA_TOKEN); writers can then be given --ingest-token, or --ingest-auth none.",
    );
  }
  notifySystemd(`READY=1\nSTATUS=listening on ${server.url.href}`, log);

  const shutdown = async (signal: string) => {
    const started = performance.now();
    log.notice(`${signal}: no new connections; answering the requests in flight`);
    notifySystemd("STOPPING=1", log);
    const grace = setTimeout(() => {
      log.warn(`requests still in flight after ${SHUTDOWN_GRACE_MS / 1000} s; closing their connections`);
      void server.stop(true);
    }, SHUTDOWN_GRACE_MS);
    await server.stop();
    clearTimeout(grace);
    // Elysia logs and counts an answered request one turn after sending it.
    await new Promise((resolve) => setImmediate(resolve));
    await services.close();
    log.notice(`stopped in ${Math.round(performance.now() - started)} ms; every shard closed`);
    process.exit(0);
  };
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  // Without a handler SIGHUP ends the process at once, which systemd counts as a clean stop.
  process.on("SIGHUP", () => services.reload());
}

/** Which credentials open every route: "off" when none are set. */
function describeAuth({ user, token }: Credentials): string {
  const kinds = [user !== "" && "basic", token !== "" && "bearer"].filter(Boolean);
  return kinds.length === 0 ? "off" : kinds.join("+");
}

/** What the POST routes take: the same credentials as the rest, also an ingest token, or none. */
function describeIngest(credentials: Credentials): string {
  if (!authIsOn(credentials) || credentials.openIngest) return "open";
  return credentials.ingestToken !== "" ? "credentials or ingest token" : "credentials";
}
