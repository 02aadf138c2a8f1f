import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { DEPLOY_HAPROXY, freePort, haproxyBinary, startHaproxy } from "../helpers/router";
import { startServer, type TestServer } from "../helpers/server";
import { TEST_MS } from "../helpers/wait";

setDefaultTimeout(TEST_MS);

/**
 * The HAProxy configuration shipped in deploy/haproxy/: valid, and in front
 * of two nodes it keeps each website on one node, splits /bulk through the
 * nodes, reaches each node's own routes, and does not send a dead node's
 * websites elsewhere.
 */
const haproxy = haproxyBinary();
if (!haproxy) console.warn("HAProxy tests skipped: haproxy is not installed (apt-get install haproxy; .ci/run does)");
const TOKEN = "haproxy-test-secret";
const AUTH = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
const STEP_MS = 60_000;

describe.skipIf(!haproxy)("the shipped HAProxy configuration", () => {
  const port = freePort();
  const nodes: TestServer[] = [];
  let router: Awaited<ReturnType<typeof startHaproxy>>;

  beforeAll(async () => {
    for (const name of ["h1", "h2"]) {
      nodes.push(await startServer({ args: ["--node-name", name, "--token", TOKEN, "--router", `http://127.0.0.1:${port}`, "--log-level", "warn"] }));
    }
    router = await startHaproxy(
      nodes.map((node, i) => ({ name: `h${i + 1}`, address: new URL(node.url).host })),
      port,
    );
  }, STEP_MS);
  afterAll(async () => {
    await router?.stop();
    await Promise.all(nodes.filter((node) => node.proc.exitCode === null).map((node) => node.stop()));
  }, STEP_MS);

  test("passes haproxy -c as shipped", async () => {
    const check = Bun.spawnSync([haproxy!, "-c", "-f", DEPLOY_HAPROXY]);
    expect(check.stdout.toString() + check.stderr.toString()).toContain("Configuration file is valid");
    expect(check.exitCode).toBe(0);
  });

  test("keeps each website on one node, the one its answers name; splits /bulk; reaches each node's own routes", async () => {
    const websites = Array.from({ length: 60 }, (_, i) => `h-${i}.example`);
    const owner = new Map<string, string>();
    for (const website of websites) {
      const answer = await fetch(`${router.url}/${website}`, { method: "POST", headers: AUTH, body: JSON.stringify({ id: "one", time: "2015-11-24T13:00:00Z" }) });
      expect(answer.status).toBe(200);
      owner.set(website, answer.headers.get("x-node-name")!);
    }
    for (const [i, node] of nodes.entries()) {
      const here = readdirSync(node.root).filter((name) => name.endsWith(".example")).sort();
      expect(here).toEqual(websites.filter((website) => owner.get(website) === `h${i + 1}`).sort());
      expect(here.length).toBeGreaterThan(0);
    }
    const list = websites.map((website) => ({ website, id: "two", time: "2015-11-25T13:00:00Z" }));
    const split = await fetch(`${router.url}/bulk`, { method: "POST", headers: AUTH, body: JSON.stringify({ list }) });
    expect(await split.json()).toEqual({ inserted: 60, duplicates: 0 });
    for (const website of websites.slice(0, 5)) {
      const count = await fetch(`${router.url}/${website}/count`, { headers: AUTH });
      expect(((await count.json()) as { total: number }).total).toBe(2);
    }
    const own = await fetch(`${router.url}/_node/h2/_health`);
    expect(own.status).toBe(200);
    expect(own.headers.get("x-node-name")).toBe("h2");
  }, STEP_MS);

  test("a dead node's websites are refused, never sent to the other node", async () => {
    nodes[1]!.proc.kill("SIGKILL");
    await nodes[1]!.proc.exited;
    // 40 new websites: about half are the dead node's (the chance that none is, 2^-40).
    // Each on a new connection: HAProxy closes a kept-alive one whose node died, and a
    // request sent on it as it closes is reset, which says nothing about where it would go.
    const accepted: string[] = [];
    let refused = 0;
    for (const website of Array.from({ length: 40 }, (_, i) => `probe-${i}.example`)) {
      const answer = await fetch(`${router.url}/${website}`, {
        method: "POST",
        headers: AUTH,
        body: JSON.stringify({ time: "2015-11-24T13:00:00Z" }),
        keepalive: false,
      });
      if (answer.status === 503) refused++;
      else {
        expect(answer.headers.get("x-node-name")).toBe("h1");
        accepted.push(website);
      }
    }
    expect(refused).toBeGreaterThan(0);
    // The living node has exactly the websites it owns: none of the dead node's reached it.
    expect(readdirSync(nodes[0]!.root).filter((name) => name.startsWith("probe-")).sort()).toEqual(accepted.sort());
    for (const website of accepted) expect(existsSync(join(nodes[1]!.root, website))).toBe(false);
  }, STEP_MS);
});
