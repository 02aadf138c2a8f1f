/**
 * The report of a website in a real browser (Chromium's headless shell,
 * driven by playwright-core) against a real server holding a fixed data set:
 * every number against the API, navigation, tables, keyboard, accessibility,
 * screenshots and live refreshes. test/process/dashboard-states.test.ts has
 * the rest of the dashboard; the two files run side by side.
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { ARTIFACTS, RANGE, SITE, dashboardFixture, expectNumbersFromApi, number, readReport, seriousViolations, settled } from "../helpers/dashboard";
import { request } from "../helpers/server";
import { waitFor } from "../helpers/wait";
import { isoSeconds } from "../../src/dashboard/time";

// The functions given to page.evaluate run in the browser; the project's types are Bun's, without the DOM.
declare const document: any;

// A browser and a server on a machine shared with other work; a timeout also ends the browser.
setDefaultTimeout(60_000);

const dash = dashboardFixture();

describe("the report of a website", () => {
  let page: Page;
  beforeAll(async () => {
    page = await dash.openPage(dash.server, `/_dashboard/${SITE}?${RANGE}`);
    dash.keepOpen(page);
    expect(await settled(page)).toBe("ready");
  });

  test("every number on the page is what the API answers for the same query, in the viewer's zone", async () => {
    const report = await readReport(page);
    expect(report.url).toBe(`/_dashboard/${SITE}?${RANGE}&tz=Europe%2FParis`);
    // The range is whole local days: Paris is an hour ahead of UTC in March, two in April.
    const count = new URL(report.countSource, dash.server.url).searchParams;
    expect([count.get("start"), count.get("end")]).toEqual(["2025-03-09T23:00:00Z", "2025-04-09T21:59:59Z"]);
    const series = new URL(report.series.source, dash.server.url).searchParams;
    expect([series.get("interval"), series.get("tz"), series.get("unique")]).toEqual(["day", "Europe/Paris", "true"]);
    expect(report.series.rows).toHaveLength(31);
    expect(number(report.events)).toBeGreaterThan(0);
    for (const table of Object.values(report.tables)) expect(table.rows.length).toBeGreaterThan(0);
    await expectNumbersFromApi(dash.server, report);
    // Countries by their English names.
    expect(report.tables.countries!.rows.map((r) => r.label)).toContain("France");
  });

  test("the download links export the same range and filters", async () => {
    const href = await page.getAttribute("#export-csv", "href");
    const report = await readReport(page);
    const csv = await (await fetch(`${dash.server.url}${href}`)).text();
    expect(csv.trimEnd().split("\r\n")).toHaveLength(number(report.events) + 1);
    const ndjson = new URL((await page.getAttribute("#export-ndjson", "href"))!, dash.server.url);
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
    await expectNumbersFromApi(dash.server, all);

    await page.selectOption("#range", "custom");
    await page.fill("#from", "2025-04-01");
    await page.fill("#to", "2025-04-09");
    await page.click(".custom button[type=submit]");
    await waitFor("the custom range", async () => (await readReport(page)).url.includes("from=2025-04-01&to=2025-04-09"));
    expect(await settled(page)).toBe("ready");
    const custom = await readReport(page);
    expect(number(custom.events)).toBeLessThan(number(first.events));
    expect(custom.series.rows).toHaveLength(9);
    await expectNumbersFromApi(dash.server, custom);

    // The interval fitted to nine days is the day; it can be changed.
    expect(await page.inputValue("#interval")).toBe("day");
    await page.selectOption("#interval", "week");
    await waitFor("weekly buckets", async () => (await readReport(page)).url.includes("interval=week"));
    expect(await settled(page)).toBe("ready");
    const weekly = await readReport(page);
    expect(weekly.series.rows.map((row) => isoSeconds(row.start))).toEqual(["2025-03-30T22:00:00Z", "2025-04-06T22:00:00Z"]);
    await expectNumbersFromApi(dash.server, weekly);

    const france = custom.tables.countries!.rows.find((row) => row.id === "fr")!;
    await page.click('#panel-countries tr[data-id="fr"] button');
    await waitFor("the country filter", async () => (await readReport(page)).url.includes("countryCode=fr"));
    expect(await settled(page)).toBe("ready");
    const filtered = await readReport(page);
    expect(filtered.chips).toEqual(["Country: France ×"]);
    expect(filtered.events).toBe(france.total);
    expect(filtered.tables.countries!.rows.map((row) => row.id)).toEqual(["fr"]);
    expect(new URL(filtered.tables.paths!.source, dash.server.url).searchParams.getAll("countryCode")).toEqual(["fr"]);
    await expectNumbersFromApi(dash.server, filtered);

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
    const copy = await dash.openPage(dash.server, before.url);
    expect(await settled(copy)).toBe("ready");
    expect(await readReport(copy)).toEqual(before);
  });

  test("a table shows its top 10 rows; Show more asks for up to 500, and Show the top 10 goes back", async () => {
    await page.goto(`${dash.server.url}/_dashboard/${SITE}?${RANGE}`);
    expect(await settled(page)).toBe("ready");
    const paths = (await readReport(page)).tables.paths!;
    expect(paths.rows).toHaveLength(10);
    expect(new URL(paths.source, dash.server.url).searchParams.get("limit")).toBe("11");

    await page.click("#panel-paths button.more");
    await waitFor("the longer table", async () => (await readReport(page)).tables.paths!.rows.length > 10);
    const longer = await readReport(page);
    expect(new URL(longer.tables.paths!.source, dash.server.url).searchParams.get("limit")).toBe("501");
    expect(longer.tables.paths!.rows.map((row) => row.id)).toEqual(expect.arrayContaining(paths.rows.map((row) => row.id)));
    await expectNumbersFromApi(dash.server, longer);

    await page.click("#panel-paths button.more");
    expect((await readReport(page)).tables.paths!.rows).toHaveLength(10);
  });

  test("the keyboard alone sets a filter: tab to a row and press Enter", async () => {
    await page.goto(`${dash.server.url}/_dashboard/${SITE}?${RANGE}`);
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
      await page.goto(`${dash.server.url}/_dashboard/${SITE}?${RANGE}`);
      expect(await settled(page)).toBe("ready");
      expect(await seriousViolations(page), colorScheme).toEqual([]);
      if (colorScheme === "dark") await page.screenshot({ path: join(ARTIFACTS, "dashboard-dark.png"), fullPage: true });
    }
    await page.emulateMedia({ colorScheme: "light" });
  });

  test("screenshots at desktop and at phone width are written as test artefacts; nothing overflows a 375 px phone", async () => {
    await page.goto(`${dash.server.url}/_dashboard/${SITE}?${RANGE}`);
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
    // The page's clock is the test's to move: a refresh period (3 s) passes at once.
    await page.clock.install();
    await page.goto(`${dash.server.url}/_dashboard/${SITE}?range=all`);
    expect(await settled(page)).toBe("ready");
    const before = number((await readReport(page)).events);
    await page.click("#live");
    await waitFor("live in the URL", async () => (await readReport(page)).url.includes("live=1"));
    expect(await page.getAttribute("#live", "aria-pressed")).toBe("true");
    await request(`${dash.server.url}/${SITE}`, { body: { time: "2025-04-11T12:00:00Z", event: "pageview", path: "/live", ip: "10.9.9.9" } });
    await page.clock.runFor(3000);
    await waitFor("the new event on the page", async () => number((await readReport(page)).events) === before + 1);
    await page.click("#live");
  });

  test("the pages talked to nothing but the server, and logged no error", () => {
    dash.expectNoProblems();
  });
});
