/**
 * bun run bench:dashboard — the dashboard in Chromium against bench:query's
 * year of one busy website (12 M events; run `bun run bench:query` once to
 * make it): the time from opening the 12-month view to every panel filled,
 * cold (a fresh process, an empty result cache) and warm (the page opened
 * again). Also the picker over 10,000 websites, and what the page weighs.
 * Prints a table; asserts nothing. The targets: warm ≤ 1 s, cold ≤ 3 s.
 *
 * The service is the compiled binary (dist/micro-analytics, built first when
 * missing or stale), as an operator runs it: its page files are bundled and
 * compressed at build time, where a service run from source bundles them on
 * the first request (some 300 ms, which a cold opening would count).
 * MA_TEST_SERVER=sources measures `bun src/main.ts` instead.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { launchBrowser } from "../test/helpers/browser";
import { request, startServer, tempDir, type TestServer } from "../test/helpers/server";

process.env.MA_TEST_SERVER ??= "binary";

const PER_MONTH = Number(process.env.BENCH_EVENTS_PER_MONTH ?? 1_000_000);
const yearDir = process.env.BENCH_QUERY_DIR ?? join(tmpdir(), `micro-analytics-bench-query-${PER_MONTH}`);
const SITE = "site.example";
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 3);
const WARM_RUNS = Number(process.env.BENCH_WARM_RUNS ?? 5);
const WEBSITES = 10_000;
const websitesDir = join(tmpdir(), `micro-analytics-bench-dashboard-${WEBSITES}-websites`);

if (!existsSync(join(yearDir, "ready"))) {
  console.error(`no data set in ${yearDir}: run \`bun run bench:query\` once to make it (it takes minutes and 1.4 GB).`);
  process.exit(1);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const serve = (root: string) => startServer({ root, args: ["--log-level", "warn", "--cache-directory", join(tempDir(), "cache")] });

/**
 * Opens `path` in a new tab and answers the milliseconds from the start of
 * the navigation to the page's mark that every panel is filled.
 */
async function timeToFilled(browser: Browser, server: TestServer, path: string): Promise<number> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: "UTC", locale: "en-US" });
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}${path}`);
    await page.waitForSelector("main:not([data-status=loading])", { timeout: 300_000 });
    const status = await page.getAttribute("main", "data-status");
    if (status !== "ready") throw new Error(`${path}: the page settled on ${status}: ${await page.textContent("main")}`);
    const errors = await page.$$eval(".panel-error:not([hidden])", (nodes) => nodes.map((n) => n.textContent));
    if (errors.length > 0) throw new Error(`${path}: panels failed: ${errors.join("; ")}`);
    return await page.evaluate(() => performance.getEntriesByName("dashboard:ready").at(-1)!.startTime);
  } finally {
    await context.close();
  }
}

async function pageWeight(server: TestServer): Promise<{ raw: number; gzip: number; br: number }> {
  const html = await (await fetch(`${server.url}/_dashboard`)).text();
  const urls = ["/_dashboard", ...[...html.matchAll(/(?:href|src)="(\/_dashboard\/assets\/[^"]+)"/g)].map((m) => m[1]!)];
  const total = { raw: 0, gzip: 0, br: 0 };
  for (const url of urls) {
    for (const [key, encoding] of [
      ["raw", "identity"],
      ["gzip", "gzip"],
      ["br", "br"],
    ] as const) {
      // Bun's fetch would hand back the body decompressed.
      const response = await fetch(`${server.url}${url}`, { headers: { "accept-encoding": encoding }, decompress: false });
      total[key] += (await response.arrayBuffer()).byteLength;
    }
  }
  return total;
}

/** 10,000 websites of one event each, made once and kept beside bench:query's data set. */
async function makeWebsites(): Promise<void> {
  if (existsSync(join(websitesDir, "ready"))) return;
  console.log(`making ${WEBSITES.toLocaleString("en")} websites in ${websitesDir} (once) …`);
  mkdirSync(websitesDir, { recursive: true });
  const server = await startServer({ root: join(websitesDir, "dbs"), args: ["--log-level", "warn"] });
  try {
    const list = Array.from({ length: WEBSITES }, (_, i) => ({
      website: `site-${String(i).padStart(5, "0")}.example`,
      time: "2026-01-15T12:00:00Z",
      event: "pageview",
      ip: "10.0.0.1",
    }));
    for (let i = 0; i < list.length; i += 1000) {
      const answer = await request(`${server.url}/bulk`, { body: { list: list.slice(i, i + 1000) } });
      if (answer.status !== 200) throw new Error(`bulk: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
  } finally {
    await server.stop();
  }
  writeFileSync(join(websitesDir, "ready"), "");
}

/** Month summaries of another format are rebuilt after start: that is done once here, not counted as cold. */
async function summariesUpToDate(root: string): Promise<void> {
  const server = await startServer({ root, args: ["--cache-directory", join(tempDir(), "cache")] });
  try {
    const deadline = Date.now() + 30 * 60_000;
    while (!server.output().includes("summaries up to date")) {
      if (Date.now() > deadline) throw new Error("the month summaries were not up to date after 30 minutes");
      await Bun.sleep(200);
    }
  } finally {
    await server.stop();
  }
}

await summariesUpToDate(join(yearDir, "dbs"));
const browser = await launchBrowser();
const rows: string[] = [];
const view = `/_dashboard/${SITE}?range=12m&tz=UTC`;
let weight: { raw: number; gzip: number; br: number } | undefined;
try {
  const cold: number[] = [];
  const warm: number[] = [];
  for (let run = 0; run < COLD_RUNS; run++) {
    const server = await serve(join(yearDir, "dbs"));
    try {
      weight ??= await pageWeight(server);
      cold.push(await timeToFilled(browser, server, view));
      for (let i = 0; i < WARM_RUNS; i++) warm.push(await timeToFilled(browser, server, view));
    } finally {
      await server.stop();
    }
  }
  rows.push(`| 12-month view of ${(PER_MONTH * 12).toLocaleString("en")} events, cold | ${median(cold).toFixed(0)} | ${Math.max(...cold).toFixed(0)} | 3000 |`);
  rows.push(`| 12-month view, warm | ${median(warm).toFixed(0)} | ${Math.max(...warm).toFixed(0)} | 1000 |`);

  await makeWebsites();
  await summariesUpToDate(join(websitesDir, "dbs"));
  const server = await serve(join(websitesDir, "dbs"));
  try {
    const picker: number[] = [];
    for (let i = 0; i < WARM_RUNS; i++) picker.push(await timeToFilled(browser, server, "/_dashboard"));
    rows.push(`| picker over ${WEBSITES.toLocaleString("en")} websites | ${median(picker).toFixed(0)} | ${Math.max(...picker).toFixed(0)} | |`);
  } finally {
    await server.stop();
  }
} finally {
  await browser.close();
}

console.log(`\ndashboard in Chromium: milliseconds from opening the page to every panel filled (cold: ${COLD_RUNS} fresh processes with empty caches; warm: ${WARM_RUNS} openings each after)\n`);
console.log("| view | median ms | worst ms | target ms |");
console.log("|---|---:|---:|---:|");
for (const row of rows) console.log(row);
if (weight) {
  console.log(`\npage weight (HTML, script and style, uPlot included): ${weight.raw.toLocaleString("en")} bytes, ${weight.gzip.toLocaleString("en")} gzip, ${weight.br.toLocaleString("en")} brotli`);
}
