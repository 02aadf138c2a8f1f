import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "../helpers/files";
import { freePort, hasNginx, startRouter, type RouterNode, type TestRouter } from "../helpers/router";
import { runCli, startServer, type TestServer } from "../helpers/server";
import { TEST_MS, waitFor } from "../helpers/wait";

setDefaultTimeout(TEST_MS);

/**
 * Three nodes behind nginx with the shipped configuration (deploy/nginx/),
 * all on 127.0.0.1, then a fourth node and a rebalance while a writer keeps
 * posting. Every event the tests send has an id, and the ledger below holds
 * every id a node acknowledged: at the end, each website's owner holds
 * exactly those, each once, and no other node holds the website at all.
 */
const TOKEN = "cluster-test-secret";
const AUTH = { authorization: `Bearer ${TOKEN}` };
/** Enough for the ring's shares to show (a node's share varies from run to run with the ports on the ring), few enough to write quickly. */
const WEBSITES = Array.from({ length: 200 }, (_, i) => `site-${i}.example`);
const NOW_MONTH = new Date().toISOString().slice(0, 7);
/** How long one step may take on a loaded machine (200 websites of two months each cost 400 new shards). */
const STEP_MS = 90_000;

interface Node {
  name: string;
  port: number;
  server: TestServer;
}

if (!hasNginx()) console.warn("cluster tests skipped: nginx is not installed (apt-get install nginx-light; .ci/run does)");

describe.skipIf(!hasNginx())("a cluster of nodes behind nginx", () => {
  const ports = { router: freePort(), next: freePort(), nodes: [freePort(), freePort(), freePort(), freePort()] };
  const names = ["n1", "n2", "n3", "n4"];
  const urls = ports.nodes.map((port) => `http://127.0.0.1:${port}`);
  const nodes: Node[] = [];
  const roots: string[] = [];
  let router: TestRouter;
  let next: TestRouter | undefined;
  /** Every id a node acknowledged, by website. */
  const ledger = new Map<string, Set<string>>();
  const acknowledge = (website: string, ids: string[]) => {
    let set = ledger.get(website);
    if (!set) ledger.set(website, (set = new Set()));
    for (const id of ids) set.add(id);
  };

  const nodeArgs = (i: number) => [
    "--node-name", names[i]!, "--port", String(ports.nodes[i]), "--token", TOKEN, "--log-level", "warn",
    "--router", `http://127.0.0.1:${ports.router}`, "--nodes", urls.join(","), "--trust-proxy", "127.0.0.1",
  ];
  const start = async (i: number, root?: string) => {
    const server = await startServer({ args: nodeArgs(i), root });
    nodes[i] = { name: names[i]!, port: ports.nodes[i]!, server };
    roots[i] = server.root;
  };
  const routed = (count: number): RouterNode[] => nodes.slice(0, count).map((n) => ({ name: n.name, address: `127.0.0.1:${n.port}` }));
  const post = (path: string, body: unknown, via = router) =>
    fetch(`${via.url}${path}`, { method: "POST", body: JSON.stringify(body), headers: { ...AUTH, "content-type": "application/json" } });
  const json = async (response: Response) => ({ status: response.status, node: response.headers.get("x-node-name"), body: (await response.json()) as any });

  /** The websites whose directory is in a node's root. */
  const websitesOn = (i: number) => readdirSync(roots[i]!).filter((name) => name.endsWith(".example")).sort();
  /** The ids stored for a website in a root, over all its months, with the number of rows. */
  const stored = (root: string, website: string) => {
    const ids: string[] = [];
    let rows = 0;
    for (const month of readdirSync(join(root, website)).filter((name) => /^\d{4}-\d{2}$/.test(name))) {
      inspect(join(root, website, month, "analytics.db"), (db) => {
        rows += db.query<{ n: number }, []>("SELECT count(*) AS n FROM visits").get()!.n;
        ids.push(...db.query<{ id: string }, []>("SELECT id FROM event_ids").all().map((row) => row.id));
      });
    }
    return { ids, rows };
  };
  const owners = new Map<string, string>();

  beforeAll(async () => {
    await Promise.all([0, 1, 2].map((i) => start(i)));
    router = await startRouter(routed(3), ports.router);
  }, STEP_MS);
  afterAll(async () => {
    // The routers first: their idle connections to the nodes would keep a node's graceful stop waiting.
    await Promise.all([next?.stop(), router?.stop()]);
    await Promise.all(nodes.filter((node) => node.server.proc.exitCode === null).map((node) => node.server.stop()));
    for (const root of roots) rmSync(join(root, ".."), { recursive: true, force: true });
  }, STEP_MS);

  // Bounds for a loaded 2-core machine; each step takes a few seconds here.
  test("200 websites written through the router: each one's directory is on exactly one node, the node the router's answers name", async () => {
    await eachLimited(WEBSITES, 16, async (website, i) => {
      const ids = [`s${i}-old`, `s${i}-now`];
      const answer = await json(await post(`/${website}/bulk`, { list: [event(ids[0]!, "2015-11-24T13:00:00Z"), event(ids[1]!, new Date().toISOString())] }));
      expect(answer).toMatchObject({ status: 200, body: { inserted: 2, duplicates: 0 } });
      acknowledge(website, ids);
      owners.set(website, answer.node!);
    });
    for (const [i, name] of names.slice(0, 3).entries()) {
      const expected = WEBSITES.filter((website) => owners.get(website) === name).sort();
      expect(websitesOn(i)).toEqual(expected);
      // No node is left out of the ring, nor takes nearly all (200 websites over 3 nodes: about 67 each,
      // give or take what the run's ports do to the ring).
      expect(expected.length).toBeGreaterThan(30);
      expect(expected.length).toBeLessThan(110);
    }
    // What is not one website's: any node answers it, or the node named in the path.
    expect((await fetch(`${router.url}/_script.js`)).status).toBe(200);
    // The dashboard's page and files, the same on every node.
    const page = await (await fetch(`${router.url}/_dashboard/${WEBSITES[0]}`)).text();
    const script = /src="(\/_dashboard\/assets\/[^"]+)"/.exec(page)?.[1];
    expect((await fetch(`${router.url}${script}`)).status).toBe(200);
    const own = await fetch(`${router.url}/_node/n3/_metrics`, { headers: AUTH });
    expect([own.status, own.headers.get("x-node-name")]).toEqual([200, "n3"]);
    expect((await fetch(`${router.url}/_metrics`, { headers: AUTH })).status).toBe(404);
  }, STEP_MS);

  test("a multi-website POST /bulk through the router is split to each website's owner, counts exact", async () => {
    // Long paths: a body past nginx's in-memory buffer (16 KiB), which it keeps in a file on its way.
    const path = "/" + "long-path/".repeat(30);
    const list = WEBSITES.slice(0, 40).flatMap((website, i) => [
      { ...event(`b${i}-1`, "2015-12-01T10:00:00Z"), path, website },
      { ...event(`b${i}-2`, "2015-12-02T10:00:00Z"), path, website },
    ]);
    expect(JSON.stringify({ list }).length).toBeGreaterThan(16 * 1024);
    const answer = await json(await post("/bulk", { list }));
    expect(answer).toMatchObject({ status: 200, body: { inserted: 80, duplicates: 0 } });
    for (const [i, website] of WEBSITES.slice(0, 40).entries()) acknowledge(website, [`b${i}-1`, `b${i}-2`]);
    for (const website of WEBSITES.slice(0, 40)) {
      const owner = names.indexOf(owners.get(website)!);
      const { ids, rows } = stored(roots[owner]!, website);
      expect(rows).toBe(4);
      expect(new Set(ids)).toEqual(ledger.get(website)!);
      for (const other of [0, 1, 2].filter((i) => i !== owner)) expect(existsSync(join(roots[other]!, website))).toBe(false);
    }
  }, STEP_MS);

  test("a split POST /bulk keeps who sent it: an event without ip has the client's address and headers, as on one machine", async () => {
    const sites = WEBSITES.slice(150, 153);
    const list = sites.map((website, i) => ({ website, id: `who-${i}`, time: "2015-12-03T10:00:00Z", path: "/from-a-browser" }));
    const answer = await fetch(`${router.url}/bulk`, {
      method: "POST",
      body: JSON.stringify({ list }),
      headers: { ...AUTH, "content-type": "text/plain", "x-forwarded-for": "203.0.113.7", "user-agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)" },
    });
    expect(await json(answer)).toMatchObject({ status: 200, body: { inserted: 3, duplicates: 0 } });
    for (const [i, website] of sites.entries()) {
      acknowledge(website, [`who-${i}`]);
      const root = roots[names.indexOf(owners.get(website)!)]!;
      const row = inspect(join(root, website, "2015-12", "analytics.db"), (db) => db.query<{ ip: string; platform: string }, []>("SELECT ip, platform FROM visits").get());
      expect(row).toEqual({ ip: "203.0.113.7", platform: "Windows" });
    }
  }, STEP_MS);

  test("retrying any acknowledged request with the same ids changes nothing", async () => {
    await eachLimited(WEBSITES.slice(0, 100), 16, async (website, i) => {
      const answer = await json(await post(`/${website}/bulk`, { list: [event(`s${i}-old`, "2015-11-24T13:00:00Z"), event(`s${i}-now`, new Date().toISOString())] }));
      expect(answer).toMatchObject({ status: 200, body: { inserted: 0, duplicates: 2 } });
    });
    const list = WEBSITES.slice(0, 40).map((website, i) => ({ ...event(`b${i}-1`, "2015-12-01T10:00:00Z"), website }));
    expect(await json(await post("/bulk", { list }))).toMatchObject({ status: 200, body: { inserted: 0, duplicates: 40 } });
    for (const website of WEBSITES.slice(0, 40)) expect(stored(roots[names.indexOf(owners.get(website)!)]!, website).rows).toBe(4);
  }, STEP_MS);

  test("kill -9 one node: its websites answer 502, the others work, no other node takes them; a /bulk across it says what was stored, and its retry after a restart is exact", async () => {
    const dead = nodes[1]!;
    dead.server.proc.kill("SIGKILL");
    await dead.server.proc.exited;
    const deadSites = WEBSITES.filter((website) => owners.get(website) === "n2");
    const liveSites = WEBSITES.filter((website) => owners.get(website) !== "n2");

    for (const website of deadSites.slice(0, 20)) {
      const write = await json(await post(`/${website}`, event(`dead-${website}`, "2015-11-25T00:00:00Z")));
      expect(write).toMatchObject({ status: 502, body: { code: "NodeUnavailable" } });
      const read = await fetch(`${router.url}/${website}/count`, { headers: AUTH });
      expect(read.status).toBe(502);
    }
    for (const [i, website] of liveSites.slice(0, 20).entries()) {
      const id = `alive-${i}`;
      expect(await json(await post(`/${website}`, event(id, "2015-11-25T00:00:00Z")))).toMatchObject({ status: 200, body: { inserted: 1 } });
      acknowledge(website, [id]);
    }
    for (const website of deadSites) {
      expect(existsSync(join(roots[0]!, website))).toBe(false);
      expect(existsSync(join(roots[2]!, website))).toBe(false);
    }

    const across = [...deadSites.slice(0, 3), ...liveSites.slice(0, 6)];
    const list = across.map((website, i) => ({ ...event(`k${i}`, "2016-01-15T12:00:00Z"), website }));
    const failed = await json(await post("/bulk", { list }));
    expect(failed.status).toBe(502);
    expect(failed.body.code).toBe("ForwardFailed");
    expect(failed.body.unstored.map((u: { website: string }) => u.website).sort()).toEqual(deadSites.slice(0, 3).sort());
    expect(failed.body.stored.map((s: { website: string }) => s.website).sort()).toEqual(liveSites.slice(0, 6).sort());
    for (const [i, website] of across.entries()) if (!deadSites.includes(website)) acknowledge(website, [`k${i}`]);

    await start(1, dead.server.root);
    const retried = await json(await post("/bulk", { list }));
    expect(retried).toMatchObject({ status: 200, body: { inserted: 3, duplicates: 6 } });
    for (const [i, website] of across.entries()) acknowledge(website, [`k${i}`]);
    for (const website of across) {
      const { ids, rows } = stored(roots[names.indexOf(owners.get(website)!)]!, website);
      expect(rows).toBe(ledger.get(website)!.size);
      expect(new Set(ids)).toEqual(ledger.get(website)!);
    }
  }, STEP_MS);

  test("a 4th node and a rebalance while a writer posts to websites that move: every acknowledged event is on the new owner exactly once, nothing stays on the old owners, about a quarter moved", async () => {
    await start(3);
    next = await startRouter(routed(4));
    const flags = ["--router", next.url, "--nodes", urls.join(","), "--token", TOKEN];

    const plan = await runCli(["rebalance", "--dry-run", ...flags], {}, 60_000);
    expect(plan.exitCode).toBe(0);
    const moves = Array.from(plan.stdout.matchAll(/^move\s+(\S+): (n\d) -> (n\d)$/gm), (m) => ({ website: m[1]!, from: m[2]!, to: m[3]! }));
    // Consistent hashing: the new node takes about a quarter (a hash modulo the node count would move
    // three quarters), and only the new node gains websites. The ring's points come from the nodes'
    // addresses, whose ports change every run: 200 websites have seen 35% move, hence the bounds.
    expect(moves.length / WEBSITES.length).toBeGreaterThan(0.1);
    expect(moves.length / WEBSITES.length).toBeLessThan(0.45);
    expect(moves.every((m) => m.to === "n4" && m.from === owners.get(m.website))).toBe(true);

    // The writer posts through the router clients use, and tries again (same ids) on 503 (held), 421 (moved, router not yet switched) and 502.
    const targets = moves.slice(0, 20).map((m) => m.website);
    let stop = false;
    let afterSwitch = 0;
    let switched = false;
    const refusals = new Map<number | string, number>();
    let written = 0;
    const writer = Promise.all(
      targets.map(async (website) => {
        while (!stop) {
          const ids = [0, 1].map(() => `w-${written++}`);
          const body = { list: ids.map((id) => event(id, new Date().toISOString())) };
          for (;;) {
            // A reloading nginx closes idle connections, which a client may be reusing: an unknown
            // outcome, which the ids make safe to try again.
            const status = await post(`/${website}/bulk`, body).then(
              async (answer) => (await answer.arrayBuffer(), answer.status),
              () => "connection lost",
            );
            if (status === 200) break;
            refusals.set(status, (refusals.get(status) ?? 0) + 1);
            expect([421, 502, 503, "connection lost"]).toContain(status);
            await Bun.sleep(20);
          }
          acknowledge(website, ids);
          if (switched) afterSwitch++;
        }
      }),
    );

    const moved = await runCli(["rebalance", ...flags], {}, 90_000);
    expect(moved.stderr).toBe("");
    expect(moved.exitCode).toBe(0);
    expect(moved.stdout).toContain(`moved ${moves.length} of ${moves.length} websites`);

    await router.reload(routed(4));
    switched = true;
    await waitFor("the writer to be acknowledged by the new owners", () => afterSwitch >= 2 * targets.length, 30_000);
    stop = true;
    await writer;
    // Between the moves and the switch the old owners refused the moved websites.
    expect(refusals.get(421) ?? 0).toBeGreaterThan(0);

    const finished = await runCli(["rebalance", "--finish", ...flags], {}, 60_000);
    expect(finished.exitCode).toBe(0);
    expect(finished.stdout).toContain(`finished: ${moves.length} old copies removed, 0 failed`);

    const movedAway = new Set(moves.map((m) => m.website));
    for (const website of WEBSITES) {
      const answer = await json(await fetch(`${router.url}/${website}/_node`, { headers: AUTH }));
      const owner = names.indexOf(answer.node!);
      expect(owner).toBe(movedAway.has(website) ? 3 : names.indexOf(owners.get(website)!));
      const holders = [0, 1, 2, 3].filter((i) => existsSync(join(roots[i]!, website)));
      expect(holders).toEqual([owner]);
      const { ids, rows } = stored(roots[owner]!, website);
      expect(rows).toBe(ledger.get(website)!.size);
      expect(new Set(ids)).toEqual(ledger.get(website)!);
    }
    for (const root of roots) expect(readdirSync(root).filter((name) => name.startsWith(".import-") || name.startsWith(".export-"))).toEqual([]);
    expect(websitesOn(3)).toEqual(Array.from(movedAway).sort());
    expect(existsSync(join(roots[3]!, targets[0]!, NOW_MONTH))).toBe(true);
  }, STEP_MS);
});

function event(id: string, time: string) {
  return { id, time, event: "pageview", path: "/", ip: "8.8.8.8" };
}

/** Runs `work` on each item, at most `limit` at once. */
async function eachLimited<T>(items: T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index]!, index);
      }
    }),
  );
}
