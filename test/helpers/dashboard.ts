/**
 * What the dashboard's browser tests share (test/process/dashboard*.test.ts):
 * a fixed data set, one browser and one server holding that set for the
 * file, pages opened in contexts of their own, and readers of what a page
 * shows, checked against the API's answers.
 */
import { afterAll, afterEach, beforeAll, expect } from "bun:test";
import axe from "axe-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, BrowserContextOptions, Page } from "playwright-core";
import { launchBrowser } from "./browser";
import { seededRandom } from "./fuzz";
import { request, startServer, type TestServer } from "./server";

// The functions given to page.evaluate run in the browser; the project's types are Bun's, without the DOM.
declare const document: any, location: any, window: any;
type Element = any;

export const SITE = "shop.example";
/** Screenshots land here, for a person to look at; the folder is not committed. */
export const ARTIFACTS = join(import.meta.dir, "../../test-artifacts");
/** A custom range in the viewer's zone that holds Paris's change to summer time (2025-03-30). */
export const RANGE = "from=2025-03-10&to=2025-04-09";

/**
 * 1,200 events: most inside RANGE, some before (the previous period) and
 * some in January (only "all time" sees them). Private addresses, so the
 * country sent is the one kept.
 */
export function dataSet() {
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

export interface DashboardFixture {
  /** A server holding dataSet() under SITE, and "empty.example", a website whose directory holds no month yet. */
  readonly server: TestServer;
  /**
   * A page in a context of its own (its own cookies, credentials and storage), opened at `path` unless it is undefined.
   * Its requests always count among the problems when they go anywhere but `target`; its console and page errors do unless `watch` is false.
   */
  openPage(target: TestServer, path: string | undefined, options?: BrowserContextOptions, watch?: boolean): Promise<Page>;
  /** Keeps a page open past the end of its test, for the tests after it; every other page is closed when its test ends. */
  keepOpen(page: Page): void;
  /** Every URL the pages asked for. */
  readonly requested: string[];
  /**
   * Checks, once the file's pages are done, that they asked the API (a count
   * at least) and that nothing went wrong in them: no console error, no page
   * error, no request to anything but their server.
   */
  expectNoProblems(): void;
}

/** Opens the browser and the server before the file's first test, and closes them after its last. */
export function dashboardFixture(): DashboardFixture {
  let browser: Browser;
  let server: TestServer;
  const contexts: BrowserContext[] = [];
  const kept = new Set<BrowserContext>();
  const problems: string[] = [];
  const requested: string[] = [];

  beforeAll(async () => {
    [browser, server] = await Promise.all([launchBrowser(), startServer()]);
    const posted = await request(`${server.url}/${SITE}/bulk`, { body: { list: dataSet() } });
    expect(posted.status).toBe(200);
    mkdirSync(join(server.root, "empty.example"), { recursive: true });
  });
  // A page left open keeps working (a live view refreshing, a page retrying a stopped server) and takes the CPU of the tests after it.
  afterEach(async () => {
    for (const context of contexts.splice(0)) {
      if (kept.has(context)) contexts.push(context);
      else await context.close();
    }
  });
  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await server?.stop();
  });

  return {
    get server() {
      return server;
    },
    requested,
    expectNoProblems() {
      expect(requested.some((url) => url.includes("/count?"))).toBe(true);
      expect(problems).toEqual([]);
    },
    keepOpen: (page) => kept.add(page.context()),
    async openPage(target, path, options = {}, watch = true) {
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
    },
  };
}

/** Waits until every panel is filled (or the page settled on a state), answering the state. */
export async function settled(page: Page): Promise<string> {
  await page.waitForSelector("main:not([data-status=loading])");
  return (await page.getAttribute("main", "data-status"))!;
}

export const number = (text: string) => Number(text.replace(/,/g, ""));

export interface Shown {
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
export function readReport(page: Page): Promise<Shown> {
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
export async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, which the page's CSP does not restrict.
  await page.evaluate(axe.source);
  return page.evaluate(async () => {
    const result = await (window as { axe: typeof axe }).axe.run(document);
    return result.violations
      .filter((v: axe.Result) => v.impact === "serious" || v.impact === "critical")
      .map((v: axe.Result) => `${v.id}: ${v.help} (${v.nodes.length})`);
  });
}

export async function api(target: TestServer, path: string, headers: Record<string, string> = {}) {
  const answer = await request(`${target.url}${path}`, { headers });
  expect(answer.status).toBe(200);
  return answer.body;
}

/** Checks each number of the report against the API's answer to the query its panel names. */
export async function expectNumbersFromApi(target: TestServer, report: Shown, headers: Record<string, string> = {}) {
  const counted = await api(target, report.countSource, headers);
  expect(number(report.events)).toBe(counted.total);
  expect(number(report.visitors)).toBe(counted.unique);
  if (report.previousSource) {
    const before = await api(target, report.previousSource, headers);
    expect(number(report.eventsBefore)).toBe(before.total);
    expect(number(report.visitorsBefore)).toBe(before.unique);
  }

  const buckets: { start: string; total: number; unique: number }[] = (await api(target, report.series.source, headers)).list;
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
    const list: { id: string; label: string; total: number; unique: number }[] = (await api(target, table.source, headers)).list;
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

