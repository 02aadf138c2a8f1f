import { hostname } from "node:os";
import { parseArgs } from "node:util";
import type { AddressMode } from "../enrich/ip-mode";
import { parseProxyRanges, type ProxyRange } from "../http/client-address";
import type { LogFormat, LogLevel } from "../observe/log";
import type { SyncMode } from "../store/schema";

export interface Config {
  user: string;
  password: string;
  token: string;
  /** A bearer token that opens only the POST routes. */
  ingestToken: string;
  /** "none": the POST routes need no credentials, even when others are set. */
  ingestAuth: "required" | "none";
  host: string;
  port: number;
  root: string;
  connections: number;
  idleTimeoutSeconds: number;
  cacheDirectory: string;
  cacheMegabytes: number;
  /** Most MiB of websites' visitors the query worker keeps in memory between queries. */
  visitorMegabytes: number;
  geoip: string | undefined;
  sync: SyncMode;
  /** Month shards older than this many months are dropped; 0 keeps everything. */
  retentionMonths: number;
  limits: Limits;
  timeouts: ConnectionTimeouts;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** Named in the X-Node-Name header of every answer; the host name unless set. */
  nodeName: string;
  cluster: ClusterConfig;
  privacy: Privacy;
}

/** How this node takes part in a cluster; all empty on a single machine. */
export interface ClusterConfig {
  /** The router's URL (no trailing slash): a multi-website `POST /bulk` is split and sent through it. */
  router: string | undefined;
  /** Every node's URL: `GET /_websites` lists the websites of all of them. */
  nodes: string[];
  /** Most requests in flight at once to the router or to other nodes. */
  concurrency: number;
}

/** What is kept of a visitor, and where a request's own address and headers come from. */
export interface Privacy {
  ipMode: AddressMode;
  /** The hash mode's key file; undefined: `<root>/.ip-hash-key`, made at first use. */
  ipKeyFile: string | undefined;
  bots: "keep" | "drop";
  /** Peers whose forwarding header is believed; none by default. */
  trustProxy: ProxyRange[];
  proxyHeader: "x-forwarded-for" | "forwarded";
  /** Origins a page may post events from: any, none (no CORS headers), or these. */
  corsOrigins: "*" | "none" | string[];
}

/** Bounds on what one request may carry; over one, a 4xx that names it. */
export interface Limits {
  maxBodyBytes: number;
  maxFieldLength: number;
  maxBulkItems: number;
  maxHeaders: number;
  /** Most month shards one write request may create (each costs a file and fsyncs). */
  maxNewShards: number;
}

/** How long a connection may stay silent, in seconds; Bun takes at most 255. */
export interface ConnectionTimeouts {
  /** Between requests, or while a request arrives. */
  keepaliveSeconds: number;
  /** While a streamed answer waits on a client that reads none of it. */
  sendSeconds: number;
}

/** What to do: serve (the default), one of the maintenance commands, or print help or the version. */
export type Command =
  | { name: "serve"; config: Config }
  | { name: "backup"; config: Config; destination: string }
  | { name: "check"; config: Config }
  | { name: "migrate-platforms"; config: Config }
  | { name: "anonymize"; config: Config; dryRun: boolean }
  | { name: "erase"; config: Config; address: string }
  | { name: "rebalance"; config: Config; dryRun: boolean; finish: boolean }
  | { name: "help"; text: string }
  | { name: "version" }
  | { name: "licenses" };

const COMMANDS = ["serve", "backup", "check", "migrate-platforms", "anonymize", "erase", "rebalance"] as const;

export class ConfigError extends Error {
  override name = "ConfigError";
}

export interface Option {
  short?: string;
  /** Environment variables read in order when the flag is absent. */
  env: string[];
  value: string;
  default: string;
  help: string;
}

/** Every setting, in the order `--help` lists them; the README's options table is checked against it. Flags win over environment, environment over defaults. */
export const OPTIONS = {
  user: { short: "u", env: ["MA_USER"], value: "NAME", default: "", help: "basic-auth user; when set, every route but GET / and /_health needs credentials" },
  password: { short: "w", env: ["MA_PASSWORD"], value: "SECRET", default: "", help: "basic-auth password (needs --user)" },
  token: { env: ["MA_TOKEN"], value: "SECRET", default: "", help: "bearer token that opens every route, like --user/--password" },
  "ingest-token": { env: ["MA_INGEST_TOKEN"], value: "SECRET", default: "", help: "bearer token that opens only the POST routes (needs --token or --user)" },
  "ingest-auth": { env: ["MA_INGEST_AUTH"], value: "required|none", default: "required", help: "none: the POST routes need no credentials; reads, DELETE and /_metrics keep theirs" },
  host: { env: ["MA_HOST"], value: "ADDRESS", default: "0.0.0.0", help: "address to listen on" },
  port: { short: "p", env: ["MA_PORT", "PORT"], value: "PORT", default: "7070", help: "port to listen on (0 picks a free one)" },
  root: { short: "r", env: ["MA_ROOT"], value: "DIR", default: "./dbs", help: "database directory, created if missing" },
  connections: { short: "c", env: ["MA_POOL_SIZE"], value: "N", default: "1000", help: "most shard files open at once" },
  "idle-timeout": { short: "i", env: ["MA_POOL_TIMEOUT"], value: "SECONDS", default: "60", help: "seconds unused before a shard file is closed" },
  "cache-directory": { short: "d", env: ["MA_CACHE_DIR"], value: "DIR", default: ".diskache", help: "cache directory (the real one is DIR/<major version>)" },
  "cache-size": { env: ["MA_CACHE_SIZE"], value: "MIB", default: "256", help: "most MiB the result cache may take on disk" },
  "visitor-memory": { env: ["MA_VISITOR_MEMORY"], value: "MIB", default: "128", help: "most MiB of memory the query worker keeps websites' visitors in, so a unique count across months need not read them again (0: none kept)" },
  geoip: { env: ["MA_GEOIP"], value: "FILE", default: "", help: "your own GeoLite2/GeoIP2 Country .mmdb instead of the embedded database" },
  "keepalive-timeout": { env: ["MA_KEEPALIVE_TIMEOUT"], value: "SECONDS", default: "30", help: "a connection silent this long between requests (or while sending one) is closed; 1 to 255" },
  "send-timeout": { env: ["MA_SEND_TIMEOUT"], value: "SECONDS", default: "60", help: "a download whose client reads nothing for this long is cut off; 1 to 255" },
  "max-body-size": { env: ["MA_MAX_BODY_SIZE"], value: "BYTES", default: String(10 * 1024 * 1024), help: "largest request body accepted" },
  "max-field-length": { env: ["MA_MAX_FIELD_LENGTH"], value: "CHARS", default: "8192", help: "longest text field or header value in an event" },
  "max-bulk-items": { env: ["MA_MAX_BULK_ITEMS"], value: "N", default: "100000", help: "most events in one bulk request" },
  "max-headers": { env: ["MA_MAX_HEADERS"], value: "N", default: "64", help: "most headers in one event" },
  "max-new-shards": { env: ["MA_MAX_NEW_SHARDS"], value: "N", default: "1000", help: "most month shards (one a website and month) one write request may create" },
  "log-level": { env: ["MA_LOG_LEVEL"], value: "LEVEL", default: "info", help: "debug, info (a line per request), warn or error" },
  "log-format": { env: ["MA_LOG_FORMAT"], value: "FORMAT", default: "text", help: "text or json (a JSON object per line)" },
  sync: { env: ["MA_SYNC"], value: "normal|full", default: "normal", help: "full: acknowledged events also survive power loss (slower)" },
  "retention-months": { env: ["MA_RETENTION_MONTHS"], value: "N", default: "0", help: "drop month shards older than N months (0: keep all)" },
  "ip-mode": { env: ["MA_IP_MODE"], value: "MODE", default: "keep", help: "what is stored of a visitor's address: keep (itself), hash (a keyed hash), daily (a hash whose key changes every UTC day) or none" },
  "ip-key-file": { env: ["MA_IP_KEY_FILE"], value: "FILE", default: "", help: "the hash mode's secret key (at least 32 bytes); empty: ROOT/.ip-hash-key, made at first start" },
  bots: { env: ["MA_BOTS"], value: "keep|drop", default: "keep", help: "drop: events whose User-Agent is a known bot, crawler or monitor are not stored" },
  "trust-proxy": { env: ["MA_TRUST_PROXY"], value: "LIST", default: "", help: "addresses and CIDR ranges of proxies whose --proxy-header gives the client's address (comma-separated)" },
  "proxy-header": { env: ["MA_PROXY_HEADER"], value: "HEADER", default: "x-forwarded-for", help: "the header the --trust-proxy proxies set: x-forwarded-for, or forwarded (RFC 7239)" },
  "cors-origins": { env: ["MA_CORS_ORIGINS"], value: "*|none|LIST", default: "*", help: "origins whose pages may post events (comma-separated), * for any, none for no CORS headers" },
  "node-name": { env: ["MA_NODE_NAME"], value: "NAME", default: "", help: "this node's name, in the X-Node-Name header of every answer (empty: the host name)" },
  router: { env: ["MA_ROUTER"], value: "URL", default: "", help: "the cluster's router: POST /bulk is split by website and each part sent through it" },
  nodes: { env: ["MA_NODES"], value: "URL,URL,...", default: "", help: "every node of the cluster: GET /_websites lists the websites of all of them" },
  "router-concurrency": { env: ["MA_ROUTER_CONCURRENCY"], value: "N", default: "8", help: "most requests in flight at once to the router or to other nodes" },
} satisfies Record<string, Option>;

type Name = keyof typeof OPTIONS;

/** Reads the command line and environment once, at start-up; throws ConfigError on any bad value. */
export function loadConfig(argv: string[], env: Record<string, string | undefined>): Command {
  let flags: Partial<Record<Name | "help" | "version" | "licenses" | "dry-run" | "finish", string | boolean>>;
  let positionals: string[];
  try {
    ({ values: flags, positionals } = parseArgs({
      args: attachNegativeValues(argv),
      strict: true,
      allowPositionals: true,
      options: {
        ...Object.fromEntries(
          Object.entries(OPTIONS).map(([name, o]) => [name, { type: "string" as const, ...("short" in o ? { short: o.short } : {}) }]),
        ),
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
        licenses: { type: "boolean" },
        "dry-run": { type: "boolean" },
        finish: { type: "boolean" },
      },
    }));
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}. Run with --help to see the options.`);
  }
  if (flags.help) return { name: "help", text: helpText() };
  if (flags.version) return { name: "version" };
  if (flags.licenses) return { name: "licenses" };

  const [name = "serve", ...rest] = positionals;
  if (!(COMMANDS as readonly string[]).includes(name)) {
    throw new ConfigError(`unknown command "${name}"; the commands are ${COMMANDS.join(", ")}. Run with --help to see them.`);
  }
  if (flags["dry-run"] && name !== "anonymize" && name !== "rebalance") throw new ConfigError("--dry-run goes with anonymize and rebalance only.");
  if (flags.finish && name !== "rebalance") throw new ConfigError("--finish belongs to the rebalance command. Run with --help to see it.");
  if (flags["dry-run"] && flags.finish) throw new ConfigError("rebalance: --dry-run and --finish are two different steps; give one of them.");
  const wanted = name === "backup" || name === "erase" ? 1 : 0;
  if (rest.length !== wanted) {
    throw new ConfigError(
      name === "backup"
        ? "backup takes one argument: the directory to write the copy to."
        : name === "erase"
          ? "erase takes one argument: the visitor's address, as stored (8.8.8.8, 2001:db8::1)."
          : `${name} takes no arguments.`,
    );
  }

  const get = (name: Name): string => {
    const flag = flags[name];
    if (typeof flag === "string") return flag;
    for (const variable of OPTIONS[name].env) {
      const value = env[variable];
      if (value !== undefined && value !== "") return value;
    }
    return OPTIONS[name].default;
  };
  const integer = (name: Name, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = get(name).trim();
    const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!(value >= min && value <= max)) {
      const wanted = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
      throw new ConfigError(`--${name} (or ${OPTIONS[name].env.join("/")}): "${raw}" is not a whole number ${wanted}.`);
    }
    return value;
  };
  const choice = <T extends string>(name: Name, choices: readonly T[]): T => {
    const value = get(name);
    if (!choices.includes(value as T)) {
      throw new ConfigError(`--${name} (or ${OPTIONS[name].env.join("/")}): "${value}" is not one of ${choices.join(", ")}.`);
    }
    return value as T;
  };
  const text = (name: Name, nonEmpty = false): string => {
    const value = get(name);
    if (nonEmpty && value.trim() === "") throw new ConfigError(`--${name} (or ${OPTIONS[name].env[0]}) must not be empty.`);
    return value;
  };

  const config: Config = {
    user: text("user"),
    password: text("password"),
    token: text("token"),
    ingestToken: text("ingest-token"),
    ingestAuth: choice("ingest-auth", ["required", "none"] as const),
    host: text("host", true),
    port: integer("port", 0, 65_535),
    root: text("root", true),
    connections: integer("connections", 1),
    idleTimeoutSeconds: integer("idle-timeout", 1),
    cacheDirectory: text("cache-directory", true),
    cacheMegabytes: integer("cache-size", 1),
    visitorMegabytes: integer("visitor-memory", 0, 1024 * 1024),
    geoip: text("geoip") || undefined,
    sync: choice("sync", ["normal", "full"] as const),
    retentionMonths: integer("retention-months", 0, 12 * 1000),
    limits: {
      maxBodyBytes: integer("max-body-size", 1024),
      maxFieldLength: integer("max-field-length", 16),
      maxBulkItems: integer("max-bulk-items", 1),
      maxHeaders: integer("max-headers", 0),
      maxNewShards: integer("max-new-shards", 1),
    },
    timeouts: {
      keepaliveSeconds: integer("keepalive-timeout", 1, 255),
      sendSeconds: integer("send-timeout", 1, 255),
    },
    logLevel: choice("log-level", ["debug", "info", "warn", "error"] as const),
    logFormat: choice("log-format", ["text", "json"] as const),
    privacy: {
      ipMode: choice("ip-mode", ["keep", "hash", "daily", "none"] as const),
      ipKeyFile: text("ip-key-file") || undefined,
      bots: choice("bots", ["keep", "drop"] as const),
      trustProxy: proxyRanges(get("trust-proxy")),
      proxyHeader: choice("proxy-header", ["x-forwarded-for", "forwarded"] as const),
      corsOrigins: corsOrigins(get("cors-origins")),
    },
    nodeName: nodeName(text("node-name") || hostname()),
    cluster: {
      router: get("router") === "" ? undefined : nodeUrl("router", get("router")),
      nodes: get("nodes") === "" ? [] : get("nodes").split(",").map((url) => nodeUrl("nodes", url)),
      concurrency: integer("router-concurrency", 1, 1000),
    },
  };
  checkCredentials(config);
  checkPrivacy(config.privacy);
  switch (name as (typeof COMMANDS)[number]) {
    case "backup":
      return { name: "backup", config, destination: rest[0]! };
    case "check":
      return { name: "check", config };
    case "migrate-platforms":
      return { name: "migrate-platforms", config };
    case "anonymize":
      return { name: "anonymize", config, dryRun: flags["dry-run"] === true };
    case "erase":
      return { name: "erase", config, address: rest[0]! };
    case "serve":
      return { name: "serve", config };
    case "rebalance":
      if (config.cluster.router === undefined || config.cluster.nodes.length === 0) {
        throw new ConfigError("rebalance needs --router (a router configured with the new list of nodes) and --nodes (every node, old and new).");
      }
      return { name: "rebalance", config, dryRun: flags["dry-run"] === true, finish: flags.finish === true };
  }
}

/** A name that fits in a header and in a router's configuration: what a host name may hold. */
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function nodeName(name: string): string {
  if (!NODE_NAME.test(name)) {
    throw new ConfigError(`--node-name (or MA_NODE_NAME): "${name}" is not a node name; use 1 to 63 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit.`);
  }
  return name;
}

/** `http(s)://host:port`, perhaps with a path; kept without a trailing slash, so paths can be appended. */
function nodeUrl(flag: "router" | "nodes", value: string): string {
  const trimmed = value.trim();
  let url: URL | undefined;
  try {
    url = new URL(trimmed);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.search !== "" || url.hash !== "" || url.username !== "") {
    throw new ConfigError(`--${flag} (or ${OPTIONS[flag].env[0]}): "${trimmed}" is not a URL such as http://10.0.0.1:7070 (no query, no credentials: nodes send their own).`);
  }
  return url.href.replace(/\/+$/, "");
}

/** Settings that each look valid but together would leave a route open, or closed to everyone, without saying so. */
function checkCredentials({ user, password, token, ingestToken, ingestAuth }: Config): void {
  if (password !== "" && user === "") {
    throw new ConfigError("--password (or MA_PASSWORD) is set but --user (or MA_USER) is not: basic auth needs both, and without a user every route would be open.");
  }
  if (ingestToken !== "" && user === "" && token === "") {
    throw new ConfigError(
      "--ingest-token (or MA_INGEST_TOKEN) opens only the POST routes; also set --token or --user/--password, which open the reads, DELETE and /_metrics.",
    );
  }
  if (ingestToken !== "" && ingestAuth === "none") {
    throw new ConfigError("--ingest-token and --ingest-auth none contradict each other: the POST routes either take a token or need none. Choose one.");
  }
}

function proxyRanges(list: string): ProxyRange[] {
  try {
    return parseProxyRanges(list);
  } catch (error) {
    throw new ConfigError(`--trust-proxy (or MA_TRUST_PROXY): ${(error as Error).message}`);
  }
}

/** `*`, `none`, or origins as a browser sends them (`https://example.com`, `http://localhost:8080`): scheme, host, port, nothing else. */
function corsOrigins(value: string): Privacy["corsOrigins"] {
  const trimmed = value.trim();
  if (trimmed === "*" || trimmed === "none") return trimmed;
  const origins = trimmed.split(",").map((entry) => entry.trim()).filter((entry) => entry !== "");
  for (const origin of origins) {
    if (URL.parse(origin)?.origin !== origin || !/^https?:/.test(origin)) {
      throw new ConfigError(
        `--cors-origins (or MA_CORS_ORIGINS): "${origin}" is not an origin; give scheme, host and port only (https://example.com, http://localhost:8080), separated by commas, or * or none.`,
      );
    }
  }
  if (origins.length === 0) throw new ConfigError('--cors-origins (or MA_CORS_ORIGINS): give origins separated by commas, or * or none.');
  return origins;
}

/** The hash mode's key file means nothing to the modes that keep no lasting key. */
function checkPrivacy({ ipMode, ipKeyFile }: Privacy): void {
  if (ipKeyFile !== undefined && (ipMode === "daily" || ipMode === "none")) {
    throw new ConfigError(
      `--ip-key-file is the hash mode's key; --ip-mode ${ipMode} ${ipMode === "daily" ? "makes a new key of its own every day" : "hashes nothing"}. Leave one of them unset.`,
    );
  }
}

/**
 * `--port -5` would make the flag parser take `-5` for a flag and answer its
 * own riddle; given as `--port=-5`, the value reaches our checks, which say
 * what the flag takes.
 */
function attachNegativeValues(argv: string[]): string[] {
  const names = new Map<string, string>();
  for (const [name, option] of Object.entries(OPTIONS) as [string, Option][]) {
    names.set(`--${name}`, name);
    if (option.short) names.set(`-${option.short}`, name);
  }
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = names.get(argv[i]!);
    const next = argv[i + 1];
    if (name !== undefined && next !== undefined && /^-\d/.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else {
      out.push(argv[i]!);
    }
  }
  return out;
}

function helpText(): string {
  const rows = Object.entries(OPTIONS).map(([name, o]: [string, Option]) => {
    const flag = `${o.short ? `-${o.short}, ` : "    "}--${name} ${o.value}`;
    const fallback = o.default === "" ? "" : ` [default: ${o.default}]`;
    return `  ${flag.padEnd(32)} ${o.help}${fallback}\n  ${"".padEnd(32)} env: ${o.env.join(", ")}`;
  });
  return [
    "Usage: micro-analytics [command] [options]",
    "",
    "A micro multi-website analytics database service.",
    "",
    "Commands:",
    "  serve                            run the service (the default)",
    "  backup DEST                      write a consistent copy of every shard under --root to DEST",
    "  check                            run SQLite's integrity check on every shard under --root",
    "  migrate-platforms                rename the original service's platform names to today's (stop the service first)",
    "  anonymize [--dry-run]            replace every stored address with the hash mode's keyed hash, for good (stop the service first)",
    "  erase ADDRESS                    delete every event of one visitor from every website and month (stop the service first)",
    "  rebalance [--dry-run | --finish] move the websites whose owner changes under --router (a router with the new",
    "                                   list of nodes) between --nodes; with --dry-run only print the plan; with --finish",
    "                                   remove the old copies, once the router clients use has the new list too",
    "",
    "Options (flags win over environment variables, which win over defaults):",
    ...rows,
    `  ${"-h, --help".padEnd(32)} show this help`,
    `  ${"-v, --version".padEnd(32)} show the version`,
    `  ${"    --licenses".padEnd(32)} show the licences and notices of everything the program contains`,
    "",
  ].join("\n");
}
