/**
 * bun run bench:cluster — what the router costs, and what a rebalance costs.
 * Three nodes behind nginx with the shipped configuration (deploy/nginx/),
 * all on this machine: single events and 1,000-event bulks through the
 * router against straight to the owner, in the same run; a multi-website
 * /bulk through the router; then 100 websites of BENCH_EVENTS events each
 * (100,000) moved to a fourth node while a writer keeps posting to them,
 * with the time it took and the longest write hold. Prints tables; asserts
 * nothing. Needs wrk and nginx (apt-get install wrk nginx-light).
 */
import { rmSync } from "node:fs";
import { freePort, hasNginx, startRouter, type RouterNode, type TestRouter } from "../test/helpers/router";
import { runCli, startServer, tempDir, type TestServer } from "../test/helpers/server";
import { postLoad, type LoadResult } from "./lib";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const MOVING = Number(process.env.BENCH_MOVING ?? 100);
const dir = tempDir("ma-bench-cluster-");

if (!Bun.which("wrk") || !hasNginx()) {
  console.error("bench:cluster needs wrk and nginx: apt-get install wrk nginx-light");
  process.exit(1);
}

const ports = { router: freePort(), nodes: [freePort(), freePort(), freePort(), freePort()] };
const urls = ports.nodes.map((port) => `http://127.0.0.1:${port}`);
const names = ["n1", "n2", "n3", "n4"];
const nodes: TestServer[] = [];
/** Everything started, stopped however the run ends. */
const started: { stop(): Promise<void> }[] = [];
const start = async (i: number) => {
  started.push((nodes[i] = await startServer({
    args: ["--node-name", names[i]!, "--port", String(ports.nodes[i]), "--router", `http://127.0.0.1:${ports.router}`, "--nodes", urls.join(","), "--log-level", "warn"],
  })));
};
const routed = (count: number): RouterNode[] => names.slice(0, count).map((name, i) => ({ name, address: `127.0.0.1:${ports.nodes[i]}` }));
try {
  await Promise.all([0, 1, 2].map(start));
  const router = await startRouter(routed(3), ports.router);
  started.unshift(router);
  const ownerOf = async (via: TestRouter, website: string) => (await fetch(`${via.url}/${website}/_node`)).headers.get("x-node-name")!;
  const urlOf = (name: string) => urls[names.indexOf(name)]!;

  const event = (i: number) => ({ event: i % 5 === 0 ? "download" : "pageview", path: `/docs/page-${i % 100}`, ip: `93.184.${(i >> 8) & 255}.${i & 255}` });
  const single = JSON.stringify(event(1));
  const bulk = JSON.stringify({ list: Array.from({ length: 1000 }, (_, i) => event(i)) });
  const multi = JSON.stringify({ list: Array.from({ length: 1000 }, (_, i) => ({ ...event(i), website: `multi-${i % 100}.example` })) });

  // 1. Through the router against straight to the website's owner: the same website, the same body, one after the other.
  interface Row {
    name: string;
    eventsPerSecond: number;
    p50Ms: number;
    p99Ms: number;
    errors: number;
  }
  const rows: Row[] = [];
  const load = async (name: string, url: string, body: string, connections: number, events: number): Promise<Row> => {
    const r: LoadResult = await postLoad(url, body, { dir, seconds: SECONDS, connections });
    const row = { name, eventsPerSecond: r.requestsPerSecond * events, p50Ms: r.p50Ms, p99Ms: r.p99Ms, errors: r.errors };
    rows.push(row);
    return row;
  };
  const owner = await ownerOf(router, "bench.example");
  const directSingle = await load(`POST /:website straight to its node, c50`, `${urlOf(owner)}/bench.example`, single, 50, 1);
  const routedSingle = await load(`POST /:website through nginx, c50`, `${router.url}/bench.example`, single, 50, 1);
  const directBulk = await load(`POST /:website/bulk (1,000 events) straight to its node, c4`, `${urlOf(owner)}/bench.example/bulk`, bulk, 4, 1000);
  const routedBulk = await load(`POST /:website/bulk (1,000 events) through nginx, c4`, `${router.url}/bench.example/bulk`, bulk, 4, 1000);
  const routedMulti = await load(`POST /bulk (1,000 events, 100 websites) through nginx, split by a node, c4`, `${router.url}/bulk`, multi, 4, 1000);

  // The same multi-website body on one machine (no --router), for scale.
  const alone = await startServer({ args: ["--log-level", "warn"] });
  started.push(alone);
  const aloneMulti = await load(`POST /bulk (1,000 events, 100 websites) on one machine, no cluster, c4`, `${alone.url}/bulk`, multi, 4, 1000);

  const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "");
  console.log(`\ncluster ingest, ${SECONDS} s per run, wrk -t1, 3 nodes and nginx on the same ${navigator.hardwareConcurrency}-core machine\n`);
  console.log("| scenario | events/s | p50 ms | p99 ms | failed |");
  console.log("|---|---:|---:|---:|---:|");
  for (const r of rows) console.log(`| ${r.name} | ${Math.round(r.eventsPerSecond).toLocaleString("en")} | ${fmt(r.p50Ms, 2)} | ${fmt(r.p99Ms, 2)} | ${r.errors} |`);
  console.log(
    `\nthrough the router / straight: single events ${fmt(routedSingle.eventsPerSecond / directSingle.eventsPerSecond, 2)}, ` +
      `1,000-event bulks ${fmt(routedBulk.eventsPerSecond / directBulk.eventsPerSecond, 2)}; ` +
      `split multi-website bulk / one machine ${fmt(routedMulti.eventsPerSecond / aloneMulti.eventsPerSecond, 2)}`,
  );

  // 2. Rebalance: MOVING websites that a fourth node will own, EVENTS events each over three months, moved while written to.
  for (const website of ["bench.example", ...Array.from({ length: 100 }, (_, i) => `multi-${i}.example`)]) {
    await fetch(`${router.url}/${website}`, { method: "DELETE" });
  }
  await start(3);
  const next = await startRouter(routed(4));
  started.unshift(next);
  const moving: string[] = [];
  for (let i = 0; moving.length < MOVING; i++) {
    if ((await ownerOf(next, `big-${i}.example`)) === "n4") moving.push(`big-${i}.example`);
  }
  const months = [Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() - 2, 1) / 1000, Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() - 1, 1) / 1000];
  const seeded = performance.now();
  const CHUNK = 50_000;
  await Promise.all(
    [0, 1, 2, 3].map(async (lane) => {
      for (let w = lane; w < moving.length; w += 4) {
        for (let from = 0; from < EVENTS; from += CHUNK) {
          const list = Array.from({ length: Math.min(CHUNK, EVENTS - from) }, (_, k) => {
            const i = from + k;
            // A third in each of the two closed months, a third in the current one (up to now).
            const time = i % 3 === 2 ? Math.floor(Date.now() / 1000) - (i % 86_400) : months[i % 3]! + (i % 2_000_000);
            return { ...event(i), time, id: `seed-${i}` };
          });
          const body = JSON.stringify({ list });
          // With ids, a request whose answer was lost is sent again as it was.
          for (let attempt = 1; ; attempt++) {
            const answer = await fetch(`${router.url}/${moving[w]}/bulk`, { method: "POST", body }).catch((error: Error) => error);
            if (!(answer instanceof Error) && answer.status === 200) break;
            if (attempt === 5) throw new Error(`seeding ${moving[w]}: ${answer instanceof Error ? answer.message : `${answer.status} ${await answer.text()}`}`);
          }
        }
      }
    }),
  );
  console.log(`\nseeded ${moving.length} websites of ${EVENTS.toLocaleString("en")} events in ${((performance.now() - seeded) / 1000).toFixed(1)} s`);

  // The writer: one event at a time with ids, through the router clients use, trying again on 503 (held) and 421 (moved, router not switched).
  let writing = true;
  let acked = 0;
  let longestWaitMs = 0;
  let written = 0;
  const writer = Promise.all(
    Array.from({ length: 4 }, async () => {
      while (writing) {
        const website = moving[written % moving.length]!;
        const body = JSON.stringify({ ...event(written), id: `writer-${written++}` });
        const sent = performance.now();
        for (;;) {
          const answer = await fetch(`${router.url}/${website}`, { method: "POST", body }).catch(() => undefined);
          if (answer?.status === 200) break;
          await Bun.sleep(20);
        }
        longestWaitMs = Math.max(longestWaitMs, performance.now() - sent);
        acked++;
      }
    }),
  );

  const flags = ["--router", next.url, "--nodes", urls.join(",")];
  const moved = await runCli(["rebalance", ...flags], {}, 3_600_000);
  const summary = /moved (\d+) of (\d+) websites .* in ([\d.]+) s, (\d+) events; the longest write hold was (\d+) ms; (\d+) failed/.exec(moved.stdout);
  if (moved.exitCode !== 0 || !summary) throw new Error(`rebalance failed (${moved.exitCode}):\n${moved.stdout}\n${moved.stderr}`);
  const holds = Array.from(moved.stdout.matchAll(/writes held (\d+) ms/g), (m) => Number(m[1])).sort((a, b) => a - b);
  await router.reload(routed(4));
  writing = false;
  await writer;
  const finished = await runCli(["rebalance", "--finish", ...flags], {}, 600_000);
  if (finished.exitCode !== 0) throw new Error(`rebalance --finish failed:\n${finished.stdout}\n${finished.stderr}`);

  console.log(`\nrebalance to a 4th node, ${moving.length} websites of ${EVENTS.toLocaleString("en")} events (3 months each), a writer posting to them throughout\n`);
  console.log("| rebalance | value |");
  console.log("|---|---:|");
  console.log(`| websites moved | ${summary[1]} of ${summary[2]} |`);
  console.log(`| events moved | ${Number(summary[4]).toLocaleString("en")} |`);
  console.log(`| time to move them (--router-concurrency 8) | ${summary[3]} s |`);
  console.log(`| events moved per second | ${Math.round(Number(summary[4]) / Number(summary[3])).toLocaleString("en")} |`);
  console.log(`| write hold per website, median | ${holds[Math.floor(holds.length / 2)] ?? 0} ms |`);
  console.log(`| longest write hold a website saw | ${summary[5]} ms |`);
  console.log(`| writer's events acknowledged during the move | ${acked.toLocaleString("en")} |`);
  console.log(`| longest a writer's event waited (hold, then 421 until the router switch) | ${Math.round(longestWaitMs)} ms |`);
} finally {
  // The routers first: their idle connections to the nodes would keep a node's graceful stop waiting.
  for (const thing of started) await thing.stop();
  rmSync(dir, { recursive: true, force: true });
}
