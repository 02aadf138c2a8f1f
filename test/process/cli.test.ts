/**
 * The command line and the environment as the compiled binary reads them:
 * what a person sees (--help, --version, the refusals and their exit codes),
 * and settings that only a process can show (its environment, its working
 * directory, its port, time passing). How each flag is read is unit-tested
 * in test/fast/config/config.test.ts.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, realpathSync } from "node:fs";
import { join, resolve } from "node:path";
import { version } from "../../package.json";
import { cleanup, scratch } from "../helpers/cleanup";
import { request, runCli, startServer, type TestServer } from "../helpers/server";
import { isShardFile, openPaths, writeOriginalShard } from "../helpers/shards";
import { TEST_MS, waitFor } from "../helpers/wait";

afterAll(cleanup);
setDefaultTimeout(TEST_MS);

const EVENT = { time: "2015-11-24T13:00:00Z", event: "pageview", path: "/", ip: "127.0.0.1" };
const SHARD = join("site.example", "2015-11", "analytics.db");

async function postEvent(url: string) {
  const response = await request(`${url}/site.example`, { body: EVENT });
  expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: { inserted: 1 } });
}

/** A port that was free a moment ago. */
function probablyFreePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

describe("what a person sees", () => {
  test("--help and -h print the same text and exit 0; --version prints package.json's version", async () => {
    const [long, short, shown] = await Promise.all([runCli(["--help"]), runCli(["-h"]), runCli(["--version"])]);
    expect({ exitCode: long.exitCode, stderr: long.stderr }).toEqual({ exitCode: 0, stderr: "" });
    expect(long.stdout).toMatch(/^Usage: micro-analytics/);
    expect(long.stdout).toContain("--retention-months");
    expect(short).toEqual(long);
    expect({ exitCode: shown.exitCode, stdout: shown.stdout.trim() }).toEqual({ exitCode: 0, stdout: version });
  });

  test("a bad value, an unknown flag or command exits 2 with a message naming it, and starts nothing", async () => {
    const root = join(scratch(), "dbs");
    const cases: [string[], Record<string, string>, string][] = [
      [["--port", "abc"], {}, "--port"],
      [["--nope"], {}, "--nope"],
      [[], { MA_POOL_SIZE: "-1" }, "MA_POOL_SIZE"],
      [["foo"], {}, 'unknown command "foo"'],
      [["backup"], {}, "backup takes one argument"],
    ];
    const results = await Promise.all(cases.map(([args, env]) => runCli(["--host", "127.0.0.1", "--port", "0", "--root", root, ...args], env)));
    expect(
      results.map(({ exitCode, stdout, stderr }, i) => ({
        case: cases[i]![0].join(" ") || JSON.stringify(cases[i]![1]),
        exitCode,
        stdout,
        named: stderr.includes(cases[i]![2]),
      })),
    ).toEqual(cases.map(([args, env]) => ({ case: args.join(" ") || JSON.stringify(env), exitCode: 2, stdout: "", named: true })));
    expect(existsSync(root)).toBe(false);
  });

  test("--retention-months abc exits 2 and drops nothing", async () => {
    const root = join(scratch(), "dbs");
    writeOriginalShard(root, "kept.example", "2001-01", []);
    const result = await runCli(["--host", "127.0.0.1", "--port", "0", "--root", root, "--retention-months", "abc"]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("--retention-months");
    expect(readdirSync(join(root, "kept.example"))).toEqual(["2001-01"]);
  });

  test("a --geoip file that is missing or not a MaxMind database stops start-up with exit 1, naming it", async () => {
    const cases = [resolve("/nonexistent.mmdb"), resolve(import.meta.dir, "../../package.json")];
    const results = await Promise.all(
      cases.map((file) => runCli(["--host", "127.0.0.1", "--port", "0", "--root", join(scratch(), "dbs"), "--geoip", file])),
    );
    for (const [i, result] of results.entries()) {
      expect({ exitCode: result.exitCode, listening: result.stdout.includes("listening") }).toEqual({ exitCode: 1, listening: false });
      expect(result.stderr).toContain("--geoip");
      expect(result.stderr).toContain(cases[i]!);
    }
  });

  test("backup of a missing root fails and writes nothing", async () => {
    const base = scratch();
    const dest = join(base, "copy");
    const { exitCode, stderr } = await runCli(["backup", dest, "--root", join(base, "no-root")]);
    expect(exitCode).not.toBe(0);
    expect(stderr).toContain("no-root");
    expect(existsSync(dest)).toBe(false);
  });
});

describe("what only a process shows", () => {
  test("MA_ROOT and PORT from the environment are used when there are no flags", async () => {
    const root = join(scratch(), "env-root");
    const cwd = scratch();
    let server: TestServer | undefined;
    let port = 0;
    // The port was free when probed; should another process take it in between, try another.
    for (let attempt = 0; !server && attempt < 5; attempt++) {
      port = probablyFreePort();
      server = await startServer({ root: null, port: null, cwd, env: { MA_ROOT: root, PORT: String(port) } }).catch(() => undefined);
    }
    expect(server?.url).toBe(`http://127.0.0.1:${port}`);
    await postEvent(server!.url);
    expect(existsSync(join(root, SHARD))).toBe(true);
    expect(existsSync(join(cwd, "dbs"))).toBe(false);
  });

  test("without --root or MA_ROOT the data goes to ./dbs, and the cache to ./.diskache, in the working directory", async () => {
    const cwd = scratch();
    const server = await startServer({ root: null, cwd });
    await postEvent(server.url);
    expect((await request(`${server.url}/site.example/count`)).body).toEqual({ total: 1, unique: 1 });
    expect(existsSync(join(cwd, "dbs", SHARD))).toBe(true);
    expect(readdirSync(cwd).sort()).toEqual([".diskache", "dbs"]);
  });

  test("a second server on a busy port exits 1 with a message naming the port; the first keeps it", async () => {
    const first = await startServer();
    const port = new URL(first.url).port;
    const second = await runCli(["--host", "127.0.0.1", "--port", port, "--root", join(scratch(), "dbs")]);
    expect({ exitCode: second.exitCode, listening: second.stdout.includes("listening") }).toEqual({ exitCode: 1, listening: false });
    expect(second.stderr).toContain(port);
    expect((await request(`${first.url}/`)).status).toBe(200);
  });

  test("--idle-timeout 1: an unused shard's file is closed, and reopened by the next query", async () => {
    const server = await startServer({ args: ["--idle-timeout", "1"] });
    const openShards = () => openPaths(server.pid).filter((path) => isShardFile(path) && path.startsWith(realpathSync(server.root)));
    await postEvent(server.url);
    expect(openShards()).toHaveLength(1);
    // Closed within a sweep (every second) after a second unused; the bound is for a loaded machine.
    await waitFor("the idle shard to be closed", () => openShards().length === 0, 10_000);
    expect((await request(`${server.url}/site.example?limit=10`)).body.list).toHaveLength(1);
    expect(openShards()).toHaveLength(1);
  });
});
