import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser } from "playwright-core";
import { launchBrowser } from "../helpers/browser";
import { request, startServer, type TestServer } from "../helpers/server";
import { TEST_MS, waitFor } from "../helpers/wait";

setDefaultTimeout(TEST_MS);

let browser: Browser;
let pages: ReturnType<typeof Bun.serve>;
let scriptTag = "";

beforeAll(async () => {
  browser = await launchBrowser();
  // Another origin on loopback: the site whose pages carry the script tag.
  pages = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => new Response(`<!doctype html><title>a page</title><p>Hello</p>${scriptTag}`, { headers: { "content-type": "text/html" } }),
  });
});
afterAll(async () => {
  await browser?.close();
  pages?.stop(true);
});

/** Loads the page as a visitor coming from a search engine, and waits until the service has stored its page view. */
async function visit(server: TestServer, tag: string, read: Record<string, string>) {
  scriptTag = tag;
  const page = await browser.newPage();
  try {
    await page.goto(`http://127.0.0.1:${pages.port}/docs/intro?utm=x`, { referer: "https://search.example/?q=micro+analytics" });
    return await waitFor("the page view to be stored", async () => {
      const answer = await request(`${server.url}/beacon.example`, { headers: read });
      return answer.status === 200 && answer.body.list.length > 0 ? answer.body.list : undefined;
    });
  } finally {
    await page.close();
  }
}

describe("the tracking script in headless Chromium", () => {
  test("with --ingest-auth none, its beacon from another origin is stored with the visitor's address, platform and referrer", async () => {
    const server = await startServer({ args: ["--token", "reader", "--ingest-auth", "none"] });
    try {
      const list = await visit(server, `<script defer src="${server.url}/_script.js" data-website="beacon.example"></script>`, { Authorization: "Bearer reader" });
      expect(list).toEqual([
        {
          time: expect.any(String),
          event: "pageview",
          path: "/docs/intro",
          ip: "127.0.0.1",
          platform: "Linux",
          refererDomain: "search.example",
          countryCode: "",
        },
      ]);
    } finally {
      await server.stop();
    }
  });

  test("with the ingest token in data-token, it posts with the token after a preflight", async () => {
    const server = await startServer({ args: ["--token", "reader", "--ingest-token", "writer"] });
    try {
      const list = await visit(server, `<script defer src="${server.url}/_script.js" data-website="beacon.example" data-token="writer"></script>`, { Authorization: "Bearer reader" });
      expect(list).toMatchObject([{ event: "pageview", path: "/docs/intro", ip: "127.0.0.1", platform: "Linux", refererDomain: "search.example" }]);
      expect(server.output()).toContain("OPTIONS /beacon.example 204");
    } finally {
      await server.stop();
    }
  });

  test("with --bots drop, a headless browser's page view is counted as a bot and not stored", async () => {
    const server = await startServer({ args: ["--bots", "drop"] });
    try {
      scriptTag = `<script defer src="${server.url}/_script.js" data-website="beacon.example"></script>`;
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${pages.port}/`);
      await waitFor("the bot to be counted", async () => (await (await fetch(`${server.url}/_metrics`)).text()).includes("micro_analytics_events_dropped_bots_total 1\n"));
      await page.close();
      expect((await request(`${server.url}/beacon.example/count`)).status).toBe(404);
    } finally {
      await server.stop();
    }
  });
});

describe("the address of an event that gives none", () => {
  test("is the peer's: a forged X-Forwarded-For or Forwarded from a client that is no trusted proxy is ignored", async () => {
    const server = await startServer({});
    try {
      const forged = { "X-Forwarded-For": "8.8.8.8", Forwarded: "for=8.8.8.8" };
      expect((await request(`${server.url}/site`, { body: { time: 1448370000 }, headers: forged })).body).toEqual({ inserted: 1 });
      expect((await request(`${server.url}/site`)).body.list.map((row: { ip: string }) => row.ip)).toEqual(["127.0.0.1"]);
    } finally {
      await server.stop();
    }
  });

  test("with --trust-proxy, is the one its proxy names, read from the right past trusted hops", async () => {
    const server = await startServer({ args: ["--trust-proxy", "127.0.0.0/8,10.0.0.0/8"] });
    try {
      await request(`${server.url}/site`, { body: { time: 1448370000 }, headers: { "X-Forwarded-For": "6.6.6.6, 8.8.8.8, 10.1.1.1" } });
      const [row] = (await request(`${server.url}/site`)).body.list;
      expect(row).toMatchObject({ ip: "8.8.8.8", countryCode: "us" });
    } finally {
      await server.stop();
    }
  });
});
