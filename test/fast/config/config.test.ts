import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig, type Command, type Config } from "../../../src/config/config";

/** The configuration `serve` would run with. */
function serveConfig(argv: string[], env: Record<string, string> = {}): Config {
  const command = loadConfig(argv, env);
  if (command.name !== "serve") throw new Error(`expected serve, got ${command.name}`);
  return command.config;
}

/** The message of the ConfigError that loading throws. */
function refusal(argv: string[], env: Record<string, string> = {}): string {
  try {
    loadConfig(argv, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error(`${JSON.stringify(argv)} ${JSON.stringify(env)} was accepted`);
}

describe("defaults", () => {
  test("are the contract's: port 7070, ./dbs, 1000 handles, 60 s idle, .diskache, no auth", () => {
    expect(serveConfig([])).toMatchObject({
      user: "",
      password: "",
      token: "",
      host: "0.0.0.0",
      port: 7070,
      root: "./dbs",
      connections: 1000,
      idleTimeoutSeconds: 60,
      cacheDirectory: ".diskache",
      cacheMegabytes: 256,
      geoip: undefined,
      sync: "normal",
      retentionMonths: 0,
      ingestToken: "",
      ingestAuth: "required",
      limits: { maxBodyBytes: 10 * 1024 * 1024, maxFieldLength: 8192, maxBulkItems: 100_000, maxHeaders: 64, maxNewShards: 1000 },
      timeouts: { keepaliveSeconds: 30, sendSeconds: 60 },
      logLevel: "info",
      logFormat: "text",
    });
  });
});

describe("precedence: flags, then environment, then defaults", () => {
  // [flag, short, variable, a value, the field, the value read]
  const settings: [string, string | undefined, string, string, keyof Config, string | number][] = [
    ["--user", "-u", "MA_USER", "alice", "user", "alice"],
    ["--password", "-w", "MA_PASSWORD", "s3cret", "password", "s3cret"],
    ["--port", "-p", "MA_PORT", "8080", "port", 8080],
    ["--root", "-r", "MA_ROOT", "/srv/dbs", "root", "/srv/dbs"],
    ["--connections", "-c", "MA_POOL_SIZE", "20", "connections", 20],
    ["--idle-timeout", "-i", "MA_POOL_TIMEOUT", "5", "idleTimeoutSeconds", 5],
    ["--cache-directory", "-d", "MA_CACHE_DIR", "/var/cache/ma", "cacheDirectory", "/var/cache/ma"],
    ["--token", undefined, "MA_TOKEN", "t0k", "token", "t0k"],
    ["--ingest-token", undefined, "MA_INGEST_TOKEN", "w0k", "ingestToken", "w0k"],
    ["--ingest-auth", undefined, "MA_INGEST_AUTH", "none", "ingestAuth", "none"],
    ["--host", undefined, "MA_HOST", "127.0.0.1", "host", "127.0.0.1"],
    ["--geoip", undefined, "MA_GEOIP", "/data/country.mmdb", "geoip", "/data/country.mmdb"],
    ["--cache-size", undefined, "MA_CACHE_SIZE", "64", "cacheMegabytes", 64],
    ["--retention-months", undefined, "MA_RETENTION_MONTHS", "12", "retentionMonths", 12],
    ["--sync", undefined, "MA_SYNC", "full", "sync", "full"],
    ["--log-level", undefined, "MA_LOG_LEVEL", "warn", "logLevel", "warn"],
    ["--log-format", undefined, "MA_LOG_FORMAT", "json", "logFormat", "json"],
  ];

  /** What a setting needs beside it to be accepted: basic auth a user, an ingest token one that opens the reads. */
  const besides = (field: keyof Config) => (field === "password" ? ["--user", "u"] : field === "ingestToken" ? ["--token", "t"] : []);

  test.each(settings)("%s (short %p, %s) is read from the flag, the short flag and the environment", (flag, short, variable, value, field, read) => {
    expect(serveConfig([...besides(field), flag, value])[field]).toEqual(read);
    expect(serveConfig([...besides(field), `${flag}=${value}`])[field]).toEqual(read);
    if (short) expect(serveConfig([...besides(field), short, value])[field]).toEqual(read);
    expect(serveConfig(besides(field), { [variable]: value })[field]).toEqual(read);
  });

  test.each(settings.map(([flag, _short, variable, ...rest]) => [flag, variable, ...rest] as const))(
    "%s beats %s",
    (flag, variable, value, field, read) => {
      const other = { sync: "normal", logLevel: "error", logFormat: "text", ingestAuth: "required" }[field as string] ?? "7";
      expect(serveConfig([...besides(field), flag, value], { [variable]: other })[field]).toEqual(read);
    },
  );

  test("the limits and timeouts are read from their flags and variables", () => {
    const flags = serveConfig([
      ...["--max-body-size", "2048", "--max-field-length", "100", "--max-headers", "3", "--max-bulk-items", "5", "--max-new-shards", "2"],
      ...["--keepalive-timeout", "7", "--send-timeout", "8"],
    ]);
    expect(flags.limits).toEqual({ maxBodyBytes: 2048, maxFieldLength: 100, maxHeaders: 3, maxBulkItems: 5, maxNewShards: 2 });
    expect(flags.timeouts).toEqual({ keepaliveSeconds: 7, sendSeconds: 8 });
    const env = serveConfig([], {
      ...{ MA_MAX_BODY_SIZE: "4096", MA_MAX_FIELD_LENGTH: "50", MA_MAX_HEADERS: "0", MA_MAX_BULK_ITEMS: "9", MA_MAX_NEW_SHARDS: "3" },
      ...{ MA_KEEPALIVE_TIMEOUT: "9", MA_SEND_TIMEOUT: "10" },
    });
    expect(env.limits).toEqual({ maxBodyBytes: 4096, maxFieldLength: 50, maxHeaders: 0, maxBulkItems: 9, maxNewShards: 3 });
    expect(env.timeouts).toEqual({ keepaliveSeconds: 9, sendSeconds: 10 });
  });

  test("PORT is read when MA_PORT is absent, and MA_PORT beats it", () => {
    expect(serveConfig([], { PORT: "9000" }).port).toBe(9000);
    expect(serveConfig([], { MA_PORT: "9001", PORT: "9000" }).port).toBe(9001);
    expect(serveConfig(["--port", "9002"], { MA_PORT: "9001", PORT: "9000" }).port).toBe(9002);
  });

  test("an empty environment variable counts as unset", () => {
    expect(serveConfig([], { MA_PORT: "", PORT: "9000" }).port).toBe(9000);
    expect(serveConfig([], { MA_ROOT: "" }).root).toBe("./dbs");
  });

  test("a flag wins even over an invalid environment value", () => {
    expect(serveConfig(["--connections", "2"], { MA_POOL_SIZE: "not-a-number" }).connections).toBe(2);
  });
});

describe("bad values are refused, naming the flag and its variables", () => {
  test.each([
    ["--port abc", ["--port", "abc"], {}, "--port"],
    ["--port 70000", ["--port", "70000"], {}, "--port"],
    ["--port=-1", ["--port=-1"], {}, "--port"],
    ["--port 80.5", ["--port", "80.5"], {}, "--port"],
    ["--connections -1", ["--connections=-1"], {}, "--connections"],
    ["--connections 0", ["--connections", "0"], {}, "--connections"],
    ["--connections two", ["--connections", "two"], {}, "--connections"],
    ["--idle-timeout x", ["--idle-timeout", "x"], {}, "--idle-timeout"],
    ["--idle-timeout 0", ["--idle-timeout", "0"], {}, "--idle-timeout"],
    ["--cache-size 0", ["--cache-size", "0"], {}, "--cache-size"],
    ["--max-body-size 10", ["--max-body-size", "10"], {}, "--max-body-size"],
    ["--sync sometimes", ["--sync", "sometimes"], {}, "--sync"],
    ["--log-level loud", ["--log-level", "loud"], {}, "--log-level"],
    ["--log-format xml", ["--log-format", "xml"], {}, "--log-format"],
    ["--retention-months abc", ["--retention-months", "abc"], {}, "--retention-months"],
    ["--retention-months=-1", ["--retention-months=-1"], {}, "--retention-months"],
    ["--root ''", ["--root", ""], {}, "--root"],
    ["--host ' '", ["--host", " "], {}, "--host"],
    ["an unknown flag --nope", ["--nope"], {}, "--nope"],
    ["a flag without its value", ["--port"], {}, "--port"],
    ["MA_PORT=abc", [], { MA_PORT: "abc" }, "MA_PORT"],
    ["PORT=abc", [], { PORT: "abc" }, "PORT"],
    ["MA_POOL_SIZE=-1", [], { MA_POOL_SIZE: "-1" }, "MA_POOL_SIZE"],
    ["MA_POOL_TIMEOUT=soon", [], { MA_POOL_TIMEOUT: "soon" }, "MA_POOL_TIMEOUT"],
    ["MA_RETENTION_MONTHS=abc", [], { MA_RETENTION_MONTHS: "abc" }, "MA_RETENTION_MONTHS"],
    ["--keepalive-timeout 256", ["--keepalive-timeout", "256"], {}, "--keepalive-timeout"],
    ["--ingest-auth maybe", ["--ingest-auth", "maybe"], {}, "--ingest-auth"],
    ["a password without a user", ["--password", "p"], {}, "--user"],
    ["an ingest token alone", ["--ingest-token", "w"], {}, "--ingest-token"],
  ] as [string, string[], Record<string, string>, string][])("%s", (_label, argv, env, names) => {
    expect(refusal(argv, env)).toContain(names);
  });
});

describe("commands", () => {
  const nameOf = (argv: string[]): Command["name"] => loadConfig(argv, {}).name;

  test("serve is the default; backup takes its destination; check and migrate-platforms take none", () => {
    expect(nameOf([])).toBe("serve");
    expect(nameOf(["serve", "--port", "1"])).toBe("serve");
    expect(loadConfig(["backup", "/backups/today", "--root", "/srv/dbs"], {})).toMatchObject({
      name: "backup",
      destination: "/backups/today",
      config: { root: "/srv/dbs" },
    });
    expect(nameOf(["check"])).toBe("check");
    expect(nameOf(["migrate-platforms"])).toBe("migrate-platforms");
  });

  test("an unknown command, backup without a destination, or an extra argument is refused", () => {
    expect(refusal(["foo"])).toMatch(/unknown command "foo"/);
    expect(refusal(["backup"])).toMatch(/backup takes one argument/);
    expect(refusal(["check", "extra"])).toMatch(/check takes no arguments/);
    expect(refusal(["serve", "extra"])).toMatch(/serve takes no arguments/);
  });

  test("--help and -h give the help, --version and -v the version, whatever else is there", () => {
    expect(nameOf(["--help"])).toBe("help");
    expect(nameOf(["-h", "--port", "abc"])).toBe("help");
    expect(nameOf(["--version"])).toBe("version");
    expect(nameOf(["-v"])).toBe("version");
  });
});

describe("--help", () => {
  const help = (() => {
    const command = loadConfig(["--help"], {});
    if (command.name !== "help") throw new Error("no help");
    return command.text;
  })();

  /** `--help`'s entries: each option line with the lines that continue it. */
  const entries: string[] = [];
  for (const line of help.split("\n")) {
    if (/^\s+-/.test(line)) entries.push(line);
    else if (entries.length > 0 && /^\s+\S/.test(line) && !/^\s+[a-z-]+\s{2,}/.test(line)) entries[entries.length - 1] += `\n${line}`;
  }

  test.each([
    ["--user", "-u", "MA_USER"],
    ["--password", "-w", "MA_PASSWORD"],
    ["--port", "-p", "MA_PORT"],
    ["--root", "-r", "MA_ROOT"],
    ["--connections", "-c", "MA_POOL_SIZE"],
    ["--idle-timeout", "-i", "MA_POOL_TIMEOUT"],
    ["--cache-directory", "-d", "MA_CACHE_DIR"],
    ["--host", undefined, "MA_HOST"],
    ["--token", undefined, "MA_TOKEN"],
    ["--geoip", undefined, "MA_GEOIP"],
    ["--max-body-size", undefined, "MA_MAX_BODY_SIZE"],
    ["--retention-months", undefined, "MA_RETENTION_MONTHS"],
  ])("lists %s with its short flag and its variable", (flag, short, variable) => {
    const entry = entries.find((e) => new RegExp(`(^|[\\s,])${flag}(?![\\w-])`).test(e));
    expect({ flag, listed: entry !== undefined }).toEqual({ flag, listed: true });
    if (short) expect(entry).toMatch(new RegExp(`(^|\\s)${short}(?![\\w-])`));
    expect(entry).toMatch(new RegExp(`\\b${variable}\\b`));
  });

  test("lists the commands serve, backup DEST, check and migrate-platforms", () => {
    for (const command of ["serve", "backup DEST", "check", "migrate-platforms"]) {
      expect({ command, listed: new RegExp(`^\\s+${command}\\s`, "m").test(help) }).toEqual({ command, listed: true });
    }
  });
});
