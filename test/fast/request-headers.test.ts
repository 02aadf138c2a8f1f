import { afterAll, beforeAll, expect, test } from "bun:test";
import { openApp, type TestApp } from "../helpers/app";

/** One service for the file: each test's events are the last ones stored when it reads them. */
let app: TestApp;
beforeAll(async () => {
  app = await openApp();
});
afterAll(() => app.close());

const CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:133.0) Gecko/20100101 Firefox/133.0";
const own = { "User-Agent": CHROME, Referer: "https://www.example.org/page" };

const stored = async (body: object) => {
  await app.request("/site", { body: { time: 1448370000, ...body }, headers: own });
  const list = (await app.request("/site")).body.list;
  return list.at(-1) as { platform: string; refererDomain: string };
};

test("an event without ip or headers takes the request's own User-Agent and Referer", async () => {
  expect(await stored({ event: "beacon" })).toMatchObject({ platform: "Windows", refererDomain: "www.example.org" });
});

test("headers the body names win, one by one; the others come from the request", async () => {
  // The tracking script sends the page's referrer ("" for a visit typed in) and lets the request give the User-Agent.
  expect(await stored({ event: "script", headers: { Referer: "https://search.example/?q=x" } })).toMatchObject({ platform: "Windows", refererDomain: "search.example" });
  expect(await stored({ event: "direct", headers: { Referer: "" } })).toMatchObject({ platform: "Windows", refererDomain: "" });
  expect(await stored({ event: "agent", headers: { "User-Agent": FIREFOX_MAC } })).toMatchObject({ platform: "Mac OS", refererDomain: "www.example.org" });
});

test("an event that names its visitor's ip is relayed: the relay's own headers are not the visitor's", async () => {
  expect(await stored({ event: "relayed", ip: "8.8.8.8" })).toMatchObject({ platform: "", refererDomain: "" });
  expect(await stored({ event: "relayed", ip: "" })).toMatchObject({ platform: "", refererDomain: "" });
});
