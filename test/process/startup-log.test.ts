/**
 * What the service says when it starts: where it listens with which
 * settings, a loud warning when it is open to all, a warning for a cache
 * directory it cannot use; and that `--log-level warn` shows no INFO line
 * while the start and stop lines (NOTICE) still show.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { request, startServer, tempDir, type TestServer } from "../helpers/server";
import { TEST_MS, waitFor } from "../helpers/wait";

setDefaultTimeout(TEST_MS);

const EVENT = { time: "2015-11-24T13:00:00Z", event: "view", path: "/", ip: "10.0.0.1" };
const servers: TestServer[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function start(args: string[] = []): Promise<TestServer> {
  const server = await startServer({ args });
  servers.push(server);
  return server;
}

/** The JSON lines written so far, each parsed. */
function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line));
}

describe("with no credentials", () => {
  test("a warning says the service is open, names its address and the flags to set", async () => {
    const server = await start();
    const warning = await waitFor("the open-access warning", () => server.output().split("\n").find((line) => / WARN no credentials/.test(line)));
    expect(warning).toContain(`${server.url}/`);
    for (const flag of ["--user", "--password", "--token", "--ingest-token", "--ingest-auth none", "DELETE"]) expect(warning).toContain(flag);
  });
});

describe("with credentials", () => {
  test("no open-access warning, and the start line says which credentials are on", async () => {
    const server = await start(["--token", "t", "--user", "u", "--password", "p", "--ingest-token", "w"]);
    const line = await waitFor("the start line", () => server.output().split("\n").find((l) => l.includes("listening on")));
    expect(line).toContain("auth=basic+bearer");
    expect(line).toContain('ingest="credentials or ingest token"');
    // Stopped, so that everything it would have written is read.
    await server.stop();
    expect(server.output()).not.toContain("no credentials");
  });

  test("--ingest-auth none shows as open ingest", async () => {
    const server = await start(["--token", "t", "--ingest-auth", "none"]);
    const line = await waitFor("the start line", () => server.output().split("\n").find((l) => l.includes("listening on")));
    expect(line).toContain("auth=bearer");
    expect(line).toContain("ingest=open");
    await server.stop();
    expect(server.output()).not.toContain("no credentials");
  });
});

describe("the start line, as JSON", () => {
  test("holds auth, GeoIP database, pool, cache and timeout settings as fields", async () => {
    const cache = join(tempDir(), "cache");
    dirs.push(join(cache, ".."));
    const server = await start(["--log-format", "json", "--connections", "12", "--idle-timeout", "34", "--cache-directory", cache, "--cache-size", "5", "--keepalive-timeout", "7", "--send-timeout", "8"]);
    const entry = await waitFor("the start line", () => jsonLines(server.output()).find((e) => String(e.msg).includes("listening on")));
    expect(entry).toMatchObject({
      level: "notice",
      root: server.root,
      auth: "off",
      ingest: "open",
      geoip: expect.stringMatching(/^embedded geo-whois-asn-country \d/),
      connections: 12,
      idleTimeout: 34,
      cacheDirectory: cache,
      cacheSizeMiB: 5,
      keepaliveTimeout: 7,
      sendTimeout: 8,
    });
  });

  test("names a --geoip file by its path", async () => {
    const mmdb = join(import.meta.dir, "../../node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb");
    const server = await start(["--log-format", "json", "--geoip", mmdb]);
    const entry = await waitFor("the start line", () => jsonLines(server.output()).find((e) => String(e.msg).includes("listening on")));
    expect(entry.geoip).toBe(mmdb);
  });
});

describe("--log-level warn", () => {
  test("writes no INFO line at all, yet the start and stop lines, as NOTICE", async () => {
    const server = await startServer({ args: ["--log-level", "warn", "--token", "t"] });
    expect((await request(`${server.url}/warn.example`, { body: EVENT, headers: { authorization: "Bearer t" } })).status).toBe(200);
    expect((await request(`${server.url}/warn.example/count`, { headers: { authorization: "Bearer t" } })).status).toBe(200);
    await server.stop();
    const lines = server.output().split("\n").filter((line) => line !== "");
    expect(lines.filter((line) => / INFO /.test(line))).toEqual([]);
    expect(lines.find((line) => line.includes("listening on"))).toMatch(/^\S+ NOTICE micro-analytics /);
    expect(lines.find((line) => line.includes("stopped in"))).toMatch(/^\S+ NOTICE /);
  });
});

describe("an unusable --cache-directory", () => {
  test("a file where the directory should be: a warning at start naming the flag, and queries still answer", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = join(dir, "not-a-directory");
    writeFileSync(file, "in the way");
    const server = await start(["--cache-directory", file]);
    const warning = await waitFor("the cache warning", () => server.output().split("\n").find((line) => line.includes("--cache-directory")));
    expect(warning).toMatch(/ WARN /);
    expect(warning).toContain(file);
    expect(warning).toContain("uncached");
    expect((await request(`${server.url}/cache.example`, { body: EVENT })).status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const count = await request(`${server.url}/cache.example/count`);
      expect({ status: count.status, body: count.body }).toEqual({ status: 200, body: { total: 1, unique: 1 } });
    }
  });

  test("a usable one gives no warning", async () => {
    const server = await start();
    await waitFor("the start line", () => server.output().includes("listening on"));
    await server.stop();
    expect(server.output()).toContain("stopped in");
    expect(server.output()).not.toContain("--cache-directory");
  });
});
