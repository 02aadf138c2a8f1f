/**
 * The dashboard in a real browser (Debian's Chromium, driven by
 * playwright-core) against real servers holding a fixed data set. One browser
 * for the file; each test opens the pages it needs.
 */
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import axe from "axe-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, BrowserContextOptions, Page } from "playwright-core";
import { launchBrowser } from "../helpers/browser";
import { seededRandom } from "../helpers/random";
import { request, startServer, type TestServer } from "../helpers/server";
import { waitFor } from "../helpers/wait";
import { isoSeconds } from "../../src/dashboard/time";

// The functions given to page.evaluate run in the browser; the project's types are Bun's, without the DOM.
declare const document: any, location: any, sessionStorage: any, window: any;
type Element = any;

const SITE = "shop.example";
/** Screenshots land here, for a person to look at; the folder is not committed. */
const ARTIFACTS = join(import.meta.dir, "../../test-artifacts");
/** A custom range in the viewer's zone that holds Paris's change to summer time (2025-03-30). */
const RANGE = "from=2025-03-10&to=2025-04-09";

/**
 * 1,200 events: most inside RANGE, some before (the previous period) and
 * some in January (only "all time" sees them). Private addresses, so the
 * country sent is the one kept.
 */
function dataSet() {
  const next = seededRandom(13);
  const pick = <T>(items: T[]) => items[Math.floor(next() ** 2 * items.length)]!;
  const start = Date.parse("2025-01-05T00:00:00Z") / 1000;
  const span = Date.parse("2025-04-12T00:00:00Z") / 1000 - start;
  return Array.from({ length: 1200 }, () => ({
    time: String(start + Math.floor(Math.sqrt(next()) * span)),
    event: pick(["pageview", "pageview", "download", "signup"]),
    path: pick(["/", "/docs/", "/docs/install", "/pricing", "/blog/a", "/blog/b", "/about", "/docs/api", "/contact", "/jobs", "/legal", "/blog/c"]),
    ip: `10.1.${Math.floor(next() * 3)}.${Math.floor(next() * 200)}`,
    countryCode: pick(["fr", "de", "us", "gb", "jp", ""]),
    platform: pick(["Windows", "macOS", "Linux", "iOS", "Android"]),
    refererDomain: pick(["", "www.google.com", "news.ycombinator.com", "duckduckgo.com"]),
  }));
}

// A browser and several servers on a machine shared with other work; a timeout also ends the browser.
setDefaultTimeout(60_000);

let browser: Browser;
let server: TestServer;
const contexts: BrowserContext[] = [];
/** Everything that went wrong in the pages of the open server: console errors, page errors, requests elsewhere. */
const problems: string[] = [];
const requested: string[] = [];

beforeAll(async () => {
  [browser, server] = await Promise.all([launchBrowser(), startServer()]);
  const posted = await request(`${server.url}/${SITE}/bulk`, { body: { list: dataSet() } });
  expect(posted.status).toBe(200);
  // A website whose directory exists but holds no month yet.
  mkdirSync(join(server.root, "empty.example"), { recursive: true });
});

/** The report's page, shared by the tests of its describe; every other page is closed when its test ends. */
let sharedContext: BrowserContext | undefined;

// A page left open keeps working (a live view refreshing, a page retrying a stopped server) and takes the CPU of the tests after it.
afterEach(async () => {
  for (const context of contexts.splice(0)) {
    if (context === sharedContext) contexts.push(context);
    else await context.close();
  }
});

afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await server?.stop();
});

/** A page in a context of its own (its own cookies, credentials and storage), opened at `path` unless it is undefined. */
async function openPage(target: TestServer, path: string | undefined, options: BrowserContextOptions = {}, watch = true): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: "Europe/Paris", locale: "en-US", ...options });
  contexts.push(context);
  const page = await context.newPage();
  if (watch) {
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console: ${message.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  }
  page.on("request", (r) => {
    requested.push(r.url());
    const url = new URL(r.url());
    if (url.protocol !== "data:" && url.protocol !== "blob:" && url.origin !== target.url) problems.push(`request to ${r.url()}`);
  });
  if (path !== undefined) await page.goto(`${target.url}${path}`);
  return page;
}

/** Waits until every panel is filled (or the page settled on a state), answering the state. */
async function settled(page: Page): Promise<string> {
  await page.waitForSelector("main:not([data-status=loading])");
  return (await page.getAttribute("main", "data-status"))!;
}

const number = (text: string) => Number(text.replace(/,/g, ""));

interface Shown {
  url: string;
  events: string;
  visitors: string;
  eventsBefore: string;
  visitorsBefore: string;
  countSource: string;
  previousSource: string | null;
  chips: string[];
  series: { source: string; rows: { start: number; total: string; unique: string }[] };
  tables: Record<string, { source: string; rows: { id: string; label: string; total: string; unique: string }[] }>;
}

/** Every number the report shows, with the API query each panel says it comes from. */
function readReport(page: Page): Promise<Shown> {
  return page.evaluate((): Shown => {
    const text = (el: Element | null) => el?.textContent?.trim() ?? "";
    const rows = (section: Element) =>
      [...section.querySelectorAll(".breakdown tbody tr")].map((tr: Element) => ({
        id: tr.getAttribute("data-id")!,
        label: text(tr.querySelector("th")),
        total: text(tr.children[1]!),
        unique: text(tr.children[2]!),
      }));
    const kpis = document.querySelector("#panel-count")!;
    return {
      url: location.pathname + location.search,
      events: text(document.querySelector("#kpi-events .value")),
      visitors: text(document.querySelector("#kpi-visitors .value")),
      eventsBefore: text(document.querySelector("#kpi-events .previous")),
      visitorsBefore: text(document.querySelector("#kpi-visitors .previous")),
      countSource: kpis.getAttribute("data-source")!,
      previousSource: kpis.getAttribute("data-previous-source"),
      chips: [...document.querySelectorAll(".chip")].map((chip: Element) => text(chip)),
      series: {
        source: document.querySelector("#panel-time")!.getAttribute("data-source")!,
        rows: [...document.querySelectorAll("#panel-time table.numbers tbody tr")].map((tr: Element) => ({
          start: Number(tr.getAttribute("data-start")),
          total: text(tr.children[1]!),
          unique: text(tr.children[2]!),
        })),
      },
      tables: Object.fromEntries(
        [...document.querySelectorAll(".table-panel")].map((section: Element) => [section.id.replace("panel-", ""), { source: section.getAttribute("data-source")!, rows: rows(section) }]),
      ),
    };
  });
}

/** What axe-core finds serious or critical on the page as it is. */
async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, which the page's CSP does not restrict.
  await page.evaluate(axe.source);
  return page.evaluate(async () => {
    const result = await (window as { axe: typeof axe }).axe.run(document);
    return result.violations
      .filter((v: axe.Result) => v.impact === "serious" || v.impact === "critical")
      .map((v: axe.Result) => `${v.id}: ${v.help} (${v.nodes.length})`);
  });
}

async function api(path: string, headers: Record<string, string> = {}, target = server) {
  const answer = await request(`${target.url}${path}`, { headers });
  expect(answer.status).toBe(200);
  return answer.body;
}

/** Checks each number of the report against the API's answer to the query its panel names. */
async function expectNumbersFromApi(report: Shown, headers: Record<string, string> = {}, target = server) {
  const counted = await api(report.countSource, headers, target);
  expect(number(report.events)).toBe(counted.total);
  expect(number(report.visitors)).toBe(counted.unique);
  if (report.previousSource) {
    const before = await api(report.previousSource, headers, target);
    expect(number(report.eventsBefore)).toBe(before.total);
    expect(number(report.visitorsBefore)).toBe(before.unique);
  }

  const buckets: { start: string; total: number; unique: number }[] = (await api(report.series.source, headers, target)).list;
  const shown = new Map(report.series.rows.map((row) => [row.start, row]));
  for (const bucket of buckets) {
    const row = shown.get(Date.parse(bucket.start) / 1000);
    expect(row, `bucket ${bucket.start}`).toBeDefined();
    expect([number(row!.total), number(row!.unique)]).toEqual([bucket.total, bucket.unique]);
  }
  // Buckets the API leaves out are those without events.
  const answered = new Set(buckets.map((b) => Date.parse(b.start) / 1000));
  for (const row of report.series.rows) if (!answered.has(row.start)) expect([row.total, row.unique]).toEqual(["0", "0"]);

  for (const [name, table] of Object.entries(report.tables)) {
    const list: { id: string; label: string; total: number; unique: number }[] = (await api(table.source, headers, target)).list;
    // A table asks for one row more than it shows, to know whether there are more.
    const shown = Number(new URL(table.source, target.url).searchParams.get("limit")) - 1;
    expect([10, 500], name).toContain(shown);
    expect(table.rows.length, name).toBe(Math.min(list.length, shown));
    table.rows.forEach((row, i) => {
      expect(row.id).toBe(list[i]!.id);
      expect([number(row.total), number(row.unique)]).toEqual([list[i]!.total, list[i]!.unique]);
    });
  }
}

describe("the report of a website", () => {
  let page: Page;
  beforeAll(async () => {
    page = await openPage(server, `/_dashboard/${SITE}?${RANGE}`);
    sharedContext = page.context();
    expect(await settled(page)).toBe("ready");
  });

  test("every number on the page is what the API answers for the same query, in the viewer's zone", async () => {
    const report = await readReport(page);
    expect(report.url).toBe(`/_dashboard/${SITE}?${RANGE}&tz=Europe%2FParis`);
    // The range is whole local days: Paris is an hour ahead of UTC in March, two in April.
    const count = new URL(report.countSource, server.url).searchParams;
    expect([count.get("start"), count.get("end")]).toEqual(["2025-03-09T23:00:00Z", "2025-04-09T21:59:59Z"]);
    const series = new URL(report.series.source, server.url).searchParams;
    expect([series.get("interval"), series.get("tz"), series.get("unique")]).toEqual(["day", "Europe/Paris", "true"]);
    expect(report.series.rows).toHaveLength(31);
    expect(number(report.events)).toBeGreaterThan(0);
    for (const table of Object.values(report.tables)) expect(table.rows.length).toBeGreaterThan(0);
    await expectNumbersFromApi(report);
    // Countries by their English names.
    expect(report.tables.countries!.rows.map((r) => r.label)).toContain("France");
  });

  test("the download links export the same range and filters", async () => {
    const href = await page.getAttribute("#export-csv", "href");
    const report = await readReport(page);
    const csv = await (await fetch(`${server.url}${href}`)).text();
    expect(csv.trimEnd().split("\r\n")).toHaveLength(number(report.events) + 1);
    const ndjson = new URL((await page.getAttribute("#export-ndjson", "href"))!, server.url);
    expect(ndjson.searchParams.get("format")).toBe("ndjson");
    expect(ndjson.searchParams.get("start")).toBe("2025-03-09T23:00:00Z");
  });

  test("a preset, a custom range, a click on a country and its removal each change what is shown, and the URL; Back goes back", async () => {
    const first = await readReport(page);

    await page.selectOption("#range", "all");
    await waitFor("the all-time view", async () => (await readReport(page)).url.includes("range=all"));
    expect(await settled(page)).toBe("ready");
    const all = await readReport(page);
    expect(number(all.events)).toBeGreaterThan(number(first.events));
    expect(all.previousSource).toBeNull();
    await expectNumbersFromApi(all);

    await page.selectOption("#range", "custom");
    await page.fill("#from", "2025-04-01");
    await page.fill("#to", "2025-04-09");
    await page.click(".custom button[type=submit]");
    await waitFor("the custom range", async () => (await readReport(page)).url.includes("from=2025-04-01&to=2025-04-09"));
    expect(await settled(page)).toBe("ready");
    const custom = await readReport(page);
    expect(number(custom.events)).toBeLessThan(number(first.events));
    expect(custom.series.rows).toHaveLength(9);
    await expectNumbersFromApi(custom);

    // The interval fitted to nine days is the day; it can be changed.
    expect(await page.inputValue("#interval")).toBe("day");
    await page.selectOption("#interval", "week");
    await waitFor("weekly buckets", async () => (await readReport(page)).url.includes("interval=week"));
    expect(await settled(page)).toBe("ready");
    const weekly = await readReport(page);
    expect(weekly.series.rows.map((row) => isoSeconds(row.start))).toEqual(["2025-03-30T22:00:00Z", "2025-04-06T22:00:00Z"]);
    await expectNumbersFromApi(weekly);

    const france = custom.tables.countries!.rows.find((row) => row.id === "fr")!;
    await page.click('#panel-countries tr[data-id="fr"] button');
    await waitFor("the country filter", async () => (await readReport(page)).url.includes("countryCode=fr"));
    expect(await settled(page)).toBe("ready");
    const filtered = await readReport(page);
    expect(filtered.chips).toEqual(["Country: France ×"]);
    expect(filtered.events).toBe(france.total);
    expect(filtered.tables.countries!.rows.map((row) => row.id)).toEqual(["fr"]);
    expect(new URL(filtered.tables.paths!.source, server.url).searchParams.getAll("countryCode")).toEqual(["fr"]);
    await expectNumbersFromApi(filtered);

    await page.click(".chip");
    await waitFor("the filter removed", async () => !(await readReport(page)).url.includes("countryCode"));
    expect(await settled(page)).toBe("ready");
    const removed = await readReport(page);
    expect(removed.chips).toEqual([]);
    expect(removed.events).toBe(custom.events);

    await page.goBack();
    await waitFor("Back to the filtered view", async () => (await readReport(page)).url.includes("countryCode=fr"));
    expect(await settled(page)).toBe("ready");
    expect((await readReport(page)).events).toBe(filtered.events);
  });

  test("a reload of a copied URL shows the same view", async () => {
    const before = await readReport(page);
    const copy = await openPage(server, before.url);
    expect(await settled(copy)).toBe("ready");
    expect(await readReport(copy)).toEqual(before);
  });

  test("a table shows its top 10 rows; Show more asks for up to 500, and Show the top 10 goes back", async () => {
    await page.goto(`${server.url}/_dashboard/${SITE}?${RANGE}`);
    expect(await settled(page)).toBe("ready");
    const paths = (await readReport(page)).tables.paths!;
    expect(paths.rows).toHaveLength(10);
    expect(new URL(paths.source, server.url).searchParams.get("limit")).toBe("11");

    await page.click("#panel-paths button.more");
    await waitFor("the longer table", async () => (await readReport(page)).tables.paths!.rows.length > 10);
    const longer = await readReport(page);
    expect(new URL(longer.tables.paths!.source, server.url).searchParams.get("limit")).toBe("501");
    expect(longer.tables.paths!.rows.map((row) => row.id)).toEqual(expect.arrayContaining(paths.rows.map((row) => row.id)));
    await expectNumbersFromApi(longer);

    await page.click("#panel-paths button.more");
    expect((await readReport(page)).tables.paths!.rows).toHaveLength(10);
  });

  test("the keyboard alone sets a filter: tab to a row and press Enter", async () => {
    await page.goto(`${server.url}/_dashboard/${SITE}?${RANGE}`);
    expect(await settled(page)).toBe("ready");
    await page.focus('#panel-platforms tbody tr:first-child button');
    const id = await page.getAttribute("#panel-platforms tbody tr:first-child", "data-id");
    await page.keyboard.press("Enter");
    await waitFor("the platform filter", async () => (await readReport(page)).url.includes(`platform=${id}`));
    expect(await settled(page)).toBe("ready");
    // The focus stays on the page's controls, not lost to the document.
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe("BUTTON");
  });

  test("an accessibility check (axe-core) finds nothing serious or critical, in light and dark (a screenshot of the dark one)", async () => {
    for (const colorScheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme });
      await page.goto(`${server.url}/_dashboard/${SITE}?${RANGE}`);
      expect(await settled(page)).toBe("ready");
      expect(await seriousViolations(page), colorScheme).toEqual([]);
      if (colorScheme === "dark") await page.screenshot({ path: join(ARTIFACTS, "dashboard-dark.png"), fullPage: true });
    }
    await page.emulateMedia({ colorScheme: "light" });
  });

  test("screenshots at desktop and at phone width are written as test artefacts; nothing overflows a 375 px phone", async () => {
    await page.goto(`${server.url}/_dashboard/${SITE}?${RANGE}`);
    expect(await settled(page)).toBe("ready");
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-desktop.png"), fullPage: true });
    await page.setViewportSize({ width: 375, height: 800 });
    await waitFor("the chart fitted to the phone", () => page.evaluate(() => document.querySelector(".plot canvas")!.getBoundingClientRect().width <= 375));
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-phone.png"), fullPage: true });
    expect(await Bun.file(join(ARTIFACTS, "dashboard-phone.png")).exists()).toBe(true);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test("live refreshes the panels every few seconds", async () => {
    await page.goto(`${server.url}/_dashboard/${SITE}?range=all`);
    expect(await settled(page)).toBe("ready");
    const before = number((await readReport(page)).events);
    await page.click("#live");
    await waitFor("live in the URL", async () => (await readReport(page)).url.includes("live=1"));
    expect(await page.getAttribute("#live", "aria-pressed")).toBe("true");
    await request(`${server.url}/${SITE}`, { body: { time: "2025-04-11T12:00:00Z", event: "pageview", path: "/live", ip: "10.9.9.9" } });
    // The bound covers a refresh period (3 s) on a loaded machine.
    await waitFor("the new event on the page", async () => number((await readReport(page)).events) === before + 1, 20_000);
    await page.click("#live");
  });

  test("the pages talked to nothing but the server, and logged no error", () => {
    expect(requested.some((url) => url.includes("/count?"))).toBe(true);
    expect(problems).toEqual([]);
  });
});

describe("the states a person can act on", () => {
  test("an unknown website, and a website with no data yet, each show the command that sends a first event", async () => {
    const unknown = await openPage(server, "/_dashboard/nowhere.example");
    expect(await settled(unknown)).toBe("error:unknown-website");
    expect(await unknown.textContent("main h2")).toBe("Unknown website");
    expect(await unknown.textContent("main pre")).toContain(`curl -X POST '${server.url}/nowhere.example'`);

    const empty = await openPage(server, "/_dashboard/empty.example");
    await waitFor("the no-data state", async () => (await empty.textContent("main h2")) === "No data yet");
    expect(await empty.textContent("main pre")).toContain(`${server.url}/empty.example`);
  });

  test("a service without websites says how to send the first event; one that stops answering is said so, and found again when it is back", async () => {
    const doomed = await startServer();
    try {
      const picker = await openPage(doomed, "/_dashboard", {}, false);
      await waitFor("the no-data state", async () => (await picker.textContent("main h2")) === "No data yet");
      expect(await picker.textContent("main pre")).toContain(`curl -X POST '${doomed.url}/example.com'`);

      await request(`${doomed.url}/gone.example`, { body: { time: "2025-03-20T10:00:00Z", event: "pageview", ip: "10.0.0.1" } });
      const page = await openPage(doomed, `/_dashboard/gone.example?${RANGE}`, {}, false);
      expect(await settled(page)).toBe("ready");
      // Killed, as a crash would: nothing answers at its port any more.
      doomed.proc.kill("SIGKILL");
      await doomed.proc.exited;
      await page.selectOption("#range", "all");
      await waitFor("the unreachable state", async () => (await page.getAttribute("main", "data-status")) === "error:unreachable");
      expect(await page.textContent("main h2")).toBe("The service does not answer");

      // Back on the same port and root: the page finds it by itself, within a retry (3 s; the bound is for a loaded machine).
      const revived = await startServer({ root: doomed.root, args: ["--port", new URL(doomed.url).port] });
      try {
        await waitFor("the page back", async () => (await page.getAttribute("main", "data-status")) === "ready", 30_000);
        expect(await page.textContent("#kpi-events .value")).toBe("1");
      } finally {
        await revived.stop();
      }
    } finally {
      await doomed.stop();
    }
  });
});

describe("the website picker", () => {
  test("lists every website with what /_websites answers, searches, and opens the one found", async () => {
    const page = await openPage(server, "/_dashboard");
    expect(await settled(page)).toBe("ready");
    const listed: { website: string; events: number }[] = (await api("/_websites")).list;
    const rows = await page.evaluate(() =>
      [...document.querySelectorAll(".websites tbody tr")].map((tr: Element) => [tr.querySelector("a").textContent, tr.children[1].textContent]),
    );
    expect(rows).toEqual(listed.map((w) => [w.website, w.events.toLocaleString("en-US")]));
    expect(rows.map((r: string[]) => r[0])).toContain(SITE);
    expect(await seriousViolations(page)).toEqual([]);

    await page.fill("#search", "SHOP");
    await waitFor("the search", async () => (await page.$$(".websites tbody tr")).length === 1);
    expect(page.url()).toContain("q=SHOP");
    await page.press("#search", "Enter");
    await waitFor("the website's page", () => page.url().includes(`/_dashboard/${SITE}`));
    expect(await settled(page)).toBe("ready");
  });
});

describe("credentials", () => {
  const USER = "ann";
  const PASSWORD = "s3cret";
  const TOKEN = "t0ken-for-tests";
  const INGEST_TOKEN = "ingest-t0ken-for-tests";
  let basicServer: TestServer;
  let tokenServer: TestServer;
  beforeAll(async () => {
    [basicServer, tokenServer] = await Promise.all([
      startServer({ args: ["--user", USER, "--password", PASSWORD] }),
      startServer({ args: ["--token", TOKEN, "--ingest-token", INGEST_TOKEN] }),
    ]);
    const list = dataSet().slice(0, 200);
    const basicHeader = { authorization: `Basic ${btoa(`${USER}:${PASSWORD}`)}` };
    expect((await request(`${basicServer.url}/${SITE}/bulk`, { body: { list }, headers: basicHeader })).status).toBe(200);
    expect((await request(`${tokenServer.url}/${SITE}/bulk`, { body: { list }, headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });
  afterAll(() => Promise.all([basicServer.stop(), tokenServer.stop()]));

  const shownNumbers = (page: Page) => page.evaluate(() => document.querySelectorAll(".kpi .value, .breakdown tbody tr, .plot canvas").length);

  test("basic auth: without credentials the page says a sign-in is needed and shows no data; with them the browser sends them with every request", async () => {
    // The headless shell has no prompt to show: it shows the 401's page, as a browser does once a person cancels the prompt.
    const outside = await openPage(basicServer, undefined, {}, false);
    const refused = await outside.goto(`${basicServer.url}/_dashboard/${SITE}?${RANGE}`);
    expect(refused?.status()).toBe(401);
    expect(await settled(outside)).toBe("sign-in");
    expect(await outside.textContent("main h2")).toBe("Sign-in needed");
    expect(await shownNumbers(outside)).toBe(0);
    expect(requested.filter((url) => url.startsWith(`${basicServer.url}/${SITE}`))).toEqual([]);

    const inside = await openPage(basicServer, `/_dashboard/${SITE}?${RANGE}`, { httpCredentials: { username: USER, password: PASSWORD } }, false);
    expect(await settled(inside)).toBe("ready");
    await expectNumbersFromApi(await readReport(inside), { authorization: `Basic ${btoa(`${USER}:${PASSWORD}`)}` }, basicServer);
  });

  test("bearer token: a form asks for it, a wrong one is refused, the right one shows the data and never goes in a URL", async () => {
    const page = await openPage(tokenServer, `/_dashboard/${SITE}?${RANGE}`, {}, false);
    expect(await settled(page)).toBe("sign-in");
    expect(await shownNumbers(page)).toBe(0);
    expect(await seriousViolations(page)).toEqual([]);

    await page.fill("#token", "wrong");
    await page.click("main button[type=submit]");
    await waitFor("the refusal", async () => (await page.textContent("main h2")) === "Wrong token");
    expect(await shownNumbers(page)).toBe(0);

    // The ingest token opens the POST routes only: the page says so.
    await page.fill("#token", INGEST_TOKEN);
    await page.click("main button[type=submit]");
    await waitFor("the ingest token refused", async () => (await page.textContent("main p"))?.includes("This is the ingest token"));
    expect(await shownNumbers(page)).toBe(0);

    const sent: { url: string; authorization?: string }[] = [];
    page.on("request", (r) => sent.push({ url: r.url(), authorization: r.headers().authorization }));
    await page.fill("#token", TOKEN);
    await page.click("main button[type=submit]");
    expect(await settled(page)).toBe("ready");
    await expectNumbersFromApi(await readReport(page), { authorization: `Bearer ${TOKEN}` }, tokenServer);
    const apiRequests = sent.filter((r) => r.url.includes(`/${SITE}/`));
    expect(apiRequests.length).toBeGreaterThan(5);
    for (const r of apiRequests) expect(r.authorization).toBe(`Bearer ${TOKEN}`);
    for (const r of sent) expect(r.url).not.toContain(TOKEN);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(1);

    // A link cannot carry the token: the download is fetched with it, then saved.
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export-csv")]);
    expect(download.suggestedFilename()).toBe(`${SITE}-2025-03-10.csv`);
    const saved = await Bun.file((await download.path())!).text();
    expect(saved.trimEnd().split("\r\n")).toHaveLength(number((await readReport(page)).events) + 1);

    // A reload in the same tab keeps the token; signing out forgets it.
    await page.reload();
    expect(await settled(page)).toBe("ready");
    await page.click(".sign-out");
    expect(await settled(page)).toBe("sign-in");
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  });
});
