/**
 * The dashboard's other pages in a real browser: the states a person can act
 * on (an unknown website, no data yet, a service that stops answering), the
 * website picker, and sign-in with basic auth and with a bearer token.
 * test/process/dashboard.test.ts has the report itself.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Page } from "playwright-core";
import { RANGE, SITE, api, dashboardFixture, dataSet, expectNumbersFromApi, number, readReport, seriousViolations, settled } from "../helpers/dashboard";
import { request, startServer, type TestServer } from "../helpers/server";
import { waitFor } from "../helpers/wait";

// The functions given to page.evaluate run in the browser; the project's types are Bun's, without the DOM.
declare const document: any, sessionStorage: any;
type Element = any;

// A browser and several servers on a machine shared with other work; a timeout also ends the browser.
setDefaultTimeout(60_000);

const dash = dashboardFixture();

describe("the states a person can act on", () => {
  test("an unknown website, and a website with no data yet, each show the command that sends a first event", async () => {
    // Its queries are answered 404, which the browser logs as a console error: only its requests are watched.
    const unknown = await dash.openPage(dash.server, "/_dashboard/nowhere.example", {}, false);
    expect(await settled(unknown)).toBe("error:unknown-website");
    expect(await unknown.textContent("main h2")).toBe("Unknown website");
    expect(await unknown.textContent("main pre")).toContain(`curl -X POST '${dash.server.url}/nowhere.example'`);

    const empty = await dash.openPage(dash.server, "/_dashboard/empty.example");
    await waitFor("the no-data state", async () => (await empty.textContent("main h2")) === "No data yet");
    expect(await empty.textContent("main pre")).toContain(`${dash.server.url}/empty.example`);
  });

  test("a service without websites says how to send the first event; one that stops answering is said so, and found again when it is back", async () => {
    const doomed = await startServer();
    try {
      const picker = await dash.openPage(doomed, "/_dashboard", {}, false);
      await waitFor("the no-data state", async () => (await picker.textContent("main h2")) === "No data yet");
      expect(await picker.textContent("main pre")).toContain(`curl -X POST '${doomed.url}/example.com'`);

      await request(`${doomed.url}/gone.example`, { body: { time: "2025-03-20T10:00:00Z", event: "pageview", ip: "10.0.0.1" } });
      const page = await dash.openPage(doomed, undefined, {}, false);
      // The page's clock is the test's to move: a retry period (3 s) passes at once.
      await page.clock.install();
      await page.goto(`${doomed.url}/_dashboard/gone.example?${RANGE}`);
      expect(await settled(page)).toBe("ready");
      // Killed, as a crash would: nothing answers at its port any more.
      doomed.proc.kill("SIGKILL");
      await doomed.proc.exited;
      await page.selectOption("#range", "all");
      await waitFor("the unreachable state", async () => (await page.getAttribute("main", "data-status")) === "error:unreachable");
      expect(await page.textContent("main h2")).toBe("The service does not answer");

      // Back on the same port and root: the page finds it by itself, at its next retry.
      const revived = await startServer({ root: doomed.root, args: ["--port", new URL(doomed.url).port] });
      try {
        await page.clock.runFor(3000);
        await waitFor("the page back", async () => (await page.getAttribute("main", "data-status")) === "ready");
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
    const page = await dash.openPage(dash.server, "/_dashboard");
    expect(await settled(page)).toBe("ready");
    const listed: { website: string; events: number }[] = (await api(dash.server, "/_websites")).list;
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
    const outside = await dash.openPage(basicServer, undefined, {}, false);
    const refused = await outside.goto(`${basicServer.url}/_dashboard/${SITE}?${RANGE}`);
    expect(refused?.status()).toBe(401);
    expect(await settled(outside)).toBe("sign-in");
    expect(await outside.textContent("main h2")).toBe("Sign-in needed");
    expect(await shownNumbers(outside)).toBe(0);
    expect(dash.requested.filter((url) => url.startsWith(`${basicServer.url}/${SITE}`))).toEqual([]);

    const inside = await dash.openPage(basicServer, `/_dashboard/${SITE}?${RANGE}`, { httpCredentials: { username: USER, password: PASSWORD } }, false);
    expect(await settled(inside)).toBe("ready");
    await expectNumbersFromApi(basicServer, await readReport(inside), { authorization: `Basic ${btoa(`${USER}:${PASSWORD}`)}` });
  });

  test("bearer token: a form asks for it, a wrong one is refused, the right one shows the data and never goes in a URL", async () => {
    const page = await dash.openPage(tokenServer, `/_dashboard/${SITE}?${RANGE}`, {}, false);
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
    await expectNumbersFromApi(tokenServer, await readReport(page), { authorization: `Bearer ${TOKEN}` });
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

test("the pages talked to nothing but the server, and logged no error", () => {
  dash.expectNoProblems();
});
