import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { version } from "../../package.json";
import { request, runCli, serverCommand, startServer, tempDir } from "../helpers/server";

const EVENT = { time: "2015-11-24T13:00:00Z", event: "pageview", path: "/", ip: "127.0.0.1" };
const SHARD = join("site.example", "2015-11", "analytics.db");

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A temporary directory removed after the file's tests. */
function scratch(): string {
  const dir = tempDir("ma-config-");
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The test's environment without any MA_* or PORT setting, plus `extra`. */
function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith("MA_") && name !== "PORT") env[name] = value;
  }
  return { ...env, ...extra };
}

interface Spawned {
  /** The port from the "listening on" line, or undefined when the process exited first. */
  port: number | undefined;
  output: string;
  stop(): Promise<void>;
}

/**
 * Starts the service with exactly `args` (no --root or --port added, unlike
 * startServer) and waits until it listens or exits.
 */
async function spawnService(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<Spawned> {
  const proc = Bun.spawn([...serverCommand(), "--host", "127.0.0.1", ...args], {
    cwd: options.cwd ?? scratch(),
    env: cleanEnv(options.env ?? {}),
    stdout: "pipe",
    stderr: "pipe",
  });
  const result: Spawned = {
    port: undefined,
    output: "",
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
  cleanups.push(() => result.stop());
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) result.output += decoder.decode(chunk, { stream: true });
  };
  void drain(proc.stdout);
  void drain(proc.stderr);

  const deadline = Date.now() + 15_000;
  for (;;) {
    const port = /listening on http:\/\/[^\s]*?:(\d+)/.exec(result.output)?.[1];
    if (port) {
      result.port = Number(port);
      return result;
    }
    if (proc.exitCode !== null) return result;
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`service neither started nor exited:\n${result.output}`);
    }
    await Bun.sleep(10);
  }
}

/** A port that was free a moment ago. */
function probablyFreePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

/**
 * Starts the service on a port chosen by `choose` (given a free port), retrying
 * with another port when it happens to have been taken in between.
 */
async function spawnOnFreePort(start: (port: number, other: number) => Promise<Spawned>): Promise<{ spawned: Spawned; port: number; other: number }> {
  for (let attempt = 0; ; attempt++) {
    const port = probablyFreePort();
    let other = probablyFreePort();
    while (other === port) other = probablyFreePort();
    const spawned = await start(port, other);
    if (spawned.port !== undefined || attempt >= 4) return { spawned, port, other };
  }
}

/** Posts one event of 2015-11 to site.example and expects it stored. */
async function postEvent(url: string) {
  const response = await request(`${url}/site.example`, { body: EVENT });
  expect(response.status).toBe(200);
  expect(response.body).toEqual({ inserted: 1 });
}

/** `--help`'s entries: each option line with the lines that continue it. */
function helpEntries(help: string): string[] {
  const entries: string[] = [];
  for (const line of help.split("\n")) {
    if (/^\s+-/.test(line)) entries.push(line);
    else if (entries.length > 0 && /^\s+\S/.test(line)) entries[entries.length - 1] += `\n${line}`;
  }
  return entries;
}

describe("--help and --version", () => {
  const documented: [flag: string, short: string | undefined, env: string | undefined][] = [
    ["--user", "-u", "MA_USER"],
    ["--password", "-w", "MA_PASSWORD"],
    ["--port", "-p", "MA_PORT"],
    ["--root", "-r", "MA_ROOT"],
    ["--connections", "-c", "MA_POOL_SIZE"],
    ["--idle-timeout", "-i", "MA_POOL_TIMEOUT"],
    ["--cache-directory", "-d", "MA_CACHE_DIR"],
    // Beyond the original's flags; the contract does not name their variables.
    ["--host", undefined, undefined],
    ["--token", undefined, undefined],
    ["--geoip", undefined, undefined],
    ["--max-body-size", undefined, undefined],
  ];

  test("--help exits 0 and lists every flag with its environment variable", async () => {
    const { exitCode, stdout } = await runCli(["--help"]);
    expect(exitCode).toBe(0);
    const entries = helpEntries(stdout);
    for (const [flag, short, env] of documented) {
      const entry = entries.find((e) => new RegExp(`(^|[\\s,])${flag}(?![\\w-])`).test(e));
      expect({ flag, listed: entry !== undefined }).toEqual({ flag, listed: true });
      if (short) expect(entry).toMatch(new RegExp(`(^|\\s)${short}(?![\\w-])`));
      if (env) expect(entry).toMatch(new RegExp(`\\b${env}\\b`));
      else expect(entry).toMatch(/\bMA_[A-Z_]+\b/);
    }
  });

  test("-h is --help", async () => {
    const [long, short] = await Promise.all([runCli(["--help"]), runCli(["-h"])]);
    expect(short.exitCode).toBe(0);
    expect(short.stdout).toBe(long.stdout);
  });

  test("--version exits 0 and prints package.json's version", async () => {
    const { exitCode, stdout } = await runCli(["--version"]);
    expect(exitCode).toBe(0);
    expect(stdout.trim()).toBe(version);
  });
});

describe("bad values stop start-up", () => {
  const refused: [label: string, args: string[], env: Record<string, string>, names: string][] = [
    ["--port abc", ["--port", "abc"], {}, "--port"],
    ["--port 70000", ["--port", "70000"], {}, "--port"],
    ["--port -1", ["--port=-1"], {}, "--port"],
    ["--port 80.5", ["--port", "80.5"], {}, "--port"],
    ["--connections -1", ["--connections", "-1"], {}, "--connections"],
    ["--connections=-1", ["--connections=-1"], {}, "--connections"],
    ["--connections 0", ["--connections", "0"], {}, "--connections"],
    ["--connections two", ["--connections", "two"], {}, "--connections"],
    ["--idle-timeout x", ["--idle-timeout", "x"], {}, "--idle-timeout"],
    ["an unknown flag --nope", ["--nope"], {}, "--nope"],
    ["a flag without its value", ["--port"], {}, "--port"],
    ["--geoip /nonexistent.mmdb", ["--geoip", "/nonexistent.mmdb"], {}, "--geoip"],
    ["--geoip on a file that is not an MMDB database", ["--geoip", resolve(import.meta.dir, "../../package.json")], {}, "--geoip"],
    ["env MA_PORT=abc", [], { MA_PORT: "abc" }, "MA_PORT"],
    ["env MA_POOL_SIZE=-1", [], { MA_POOL_SIZE: "-1" }, "MA_POOL_SIZE"],
    ["env MA_POOL_TIMEOUT=soon", [], { MA_POOL_TIMEOUT: "soon" }, "MA_POOL_TIMEOUT"],
  ];

  for (const [label, args, env, names] of refused) {
    test(`${label}: non-zero exit with a message naming ${names}`, async () => {
      const root = join(scratch(), "dbs");
      const { exitCode, stdout, stderr } = await runCli(["--host", "127.0.0.1", "--root", root, ...args], env, 5_000);
      expect(exitCode).not.toBe(0);
      expect(stdout).not.toContain("listening");
      expect(stderr).toContain(names);
    });
  }
});

describe("precedence: flags, then environment, then defaults", () => {
  test("--root beats MA_ROOT", async () => {
    const fromEnv = join(scratch(), "env-root");
    const fromFlag = join(scratch(), "flag-root");
    const server = await startServer({ root: fromFlag, env: { MA_ROOT: fromEnv } });
    cleanups.push(() => server.stop());
    await postEvent(server.url);
    expect(existsSync(join(fromFlag, SHARD))).toBe(true);
    expect(existsSync(join(fromEnv, "site.example"))).toBe(false);
  });

  test("MA_ROOT is used when there is no --root", async () => {
    const fromEnv = join(scratch(), "env-root");
    const cwd = scratch();
    const service = await spawnService(["--port", "0"], { env: { MA_ROOT: fromEnv }, cwd });
    expect(service.port).toBeNumber();
    await postEvent(`http://127.0.0.1:${service.port}`);
    expect(existsSync(join(fromEnv, SHARD))).toBe(true);
    expect(existsSync(join(cwd, "dbs"))).toBe(false);
  });

  test("without --root or MA_ROOT the data goes to ./dbs in the working directory", async () => {
    const cwd = scratch();
    const service = await spawnService(["--port", "0"], { cwd });
    expect(service.port).toBeNumber();
    await postEvent(`http://127.0.0.1:${service.port}`);
    expect(existsSync(join(cwd, "dbs", SHARD))).toBe(true);
    expect(readdirSync(cwd).filter((name) => name !== "dbs" && name !== ".diskache")).toEqual([]);
  });

  test("PORT is used when MA_PORT is absent", async () => {
    const root = join(scratch(), "dbs");
    const { spawned, port } = await spawnOnFreePort((port) => spawnService(["--root", root], { env: { PORT: String(port) } }));
    expect(spawned.port).toBe(port);
    expect((await request(`http://127.0.0.1:${port}/`)).status).toBe(200);
  });

  test("MA_PORT beats PORT", async () => {
    const root = join(scratch(), "dbs");
    const { spawned, port, other } = await spawnOnFreePort((port, other) =>
      spawnService(["--root", root], { env: { MA_PORT: String(port), PORT: String(other) } }),
    );
    expect(spawned.port).toBe(port);
    expect(spawned.port).not.toBe(other);
    expect((await request(`http://127.0.0.1:${port}/`)).status).toBe(200);
  });

  test("--port beats MA_PORT and PORT", async () => {
    const root = join(scratch(), "dbs");
    const { spawned, port, other } = await spawnOnFreePort((port, other) =>
      spawnService(["--root", root, "--port", String(port)], { env: { MA_PORT: String(other), PORT: String(other) } }),
    );
    expect(spawned.port).toBe(port);
    expect((await request(`http://127.0.0.1:${port}/`)).status).toBe(200);
    expect(other).not.toBe(port);
  });

  test("a flag wins even over an invalid environment value", async () => {
    const server = await startServer({ args: ["--connections", "2"], env: { MA_POOL_SIZE: "not-a-number" } });
    cleanups.push(() => server.stop());
    await postEvent(server.url);
  });
});

describe("listening", () => {
  test("a second server on a busy port exits non-zero with a message", async () => {
    const first = await startServer();
    cleanups.push(() => first.stop());
    const port = new URL(first.url).port;
    const root = join(scratch(), "dbs");

    const second = await runCli(["--host", "127.0.0.1", "--port", port, "--root", root], {}, 5_000);
    expect(second.exitCode).not.toBe(0);
    expect(second.stdout).not.toContain("listening");
    expect(second.stderr).toContain(port);

    // The first server still has the port to itself.
    expect((await request(`${first.url}/`)).status).toBe(200);
  });
});

describe("--geoip", () => {
  test("an ip-location-db .mmdb file replaces the embedded database", async () => {
    const mmdb = resolve(
      import.meta.dir,
      "../../node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb",
    );
    expect(existsSync(mmdb)).toBe(true);
    const server = await startServer({ args: ["--geoip", mmdb] });
    cleanups.push(() => server.stop());

    const post = await request(`${server.url}/geo.example`, { body: { ...EVENT, ip: "8.8.8.8" } });
    expect(post.status).toBe(200);
    const { status, body } = await request(`${server.url}/geo.example`);
    expect(status).toBe(200);
    expect(body.list).toHaveLength(1);
    expect(body.list[0].countryCode).toBe("us");
  });
});
