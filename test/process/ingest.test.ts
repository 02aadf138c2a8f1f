import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readdirSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { request, startServer, type TestServer } from "../helpers/server";

/** A complete event and the row GET /:website answers for it (a private IP: GeoIP finds nothing). */
const EVENT = {
  time: "2015-11-24T12:00:00Z",
  event: "download",
  path: "/README.md",
  ip: "10.0.0.1",
  platform: "Linux",
  refererDomain: "github.com",
  countryCode: "fr",
};

/** Valid events in two months, for bulks that must be written whole or not at all. */
const OCTOBER = { time: "2015-10-30T10:00:00Z", event: "view", path: "/a", ip: "10.0.0.1" };
const NOVEMBER = { time: "2015-11-02T10:00:00Z", event: "view", path: "/b", ip: "10.0.0.2" };

/** The row stored for an event that only has a time, an event, a path and an ip. */
const stored = (event: { time: string; event: string; path: string; ip: string }) => ({
  platform: "",
  refererDomain: "",
  countryCode: "",
  ...event,
});

const USER_AGENTS = {
  windowsChrome:
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
  iPhoneSafari:
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
  macSafari:
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
};

let server: TestServer;
beforeAll(async () => { server = await startServer(); });
afterAll(() => server.stop());

let sites = 0;
/** A website name no other test uses. */
const freshSite = (label: string) => `${label}-${++sites}.example`;

type Answer = { status: number; body: any };

async function post(path: string, body: unknown): Promise<Answer> {
  const { status, body: answer } = await request(`${server.url}${path}`, { body });
  return { status, body: answer };
}

async function postRaw(path: string, raw: string): Promise<Answer> {
  const { status, body } = await request(`${server.url}${path}`, { raw });
  return { status, body };
}

async function get(path: string): Promise<Answer> {
  const { status, body } = await request(`${server.url}${path}`);
  return { status, body };
}

/** A row as GET /:website answers it. */
interface Row {
  time: string;
  event: string;
  path: string;
  ip: string;
  platform: string;
  refererDomain: string;
  countryCode: string;
}

/** Posts one event to a new website and answers the row the service stored for it. */
async function ingestOne(event: Record<string, unknown>): Promise<Row> {
  const site = freshSite("one");
  expect(await post(`/${site}`, event)).toEqual({ status: 200, body: { inserted: 1 } });
  const { status, body } = await get(`/${site}`);
  expect(status).toBe(200);
  expect(body.list).toHaveLength(1);
  return body.list[0];
}

/** Every error is exactly {code, message}, with a message a person can read. */
function expectError(response: Answer, status: number, code: string) {
  expect(response).toEqual({ status, body: { code, message: expect.any(String) } });
  expect(response.body.message.trim()).not.toBe("");
}

/** The website was never created: 404 for queries, no directory on disk. */
async function expectNoWebsite(site: string) {
  expectError(await get(`/${site}`), 404, "InvalidDatabaseName");
  expect(existsSync(join(server.root, site))).toBe(false);
}

async function expectCount(site: string, total: number) {
  const { status, body } = await get(`/${site}/count`);
  expect({ site, status, total: body.total }).toEqual({ site, status: 200, total });
}

/** What is on disk under the root and next to it, to prove a refused request created nothing. */
function diskListing() {
  return { root: readdirSync(server.root).sort(), parent: readdirSync(join(server.root, "..")).sort() };
}

/**
 * An HTTP/1.1 request written on a socket as it is: fetch would normalise
 * `/%2e%2e` to `/` before sending it.
 */
function rawHttp(method: string, path: string, body = ""): Promise<Answer> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        `${method} ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const [head = "", ...rest] = text.split("\r\n\r\n");
      let payload = rest.join("\r\n\r\n");
      if (/^transfer-encoding:\s*chunked/im.test(head)) payload = decodeChunked(payload);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
      try {
        resolve({ status, body: JSON.parse(payload) });
      } catch {
        resolve({ status, body: payload });
      }
    });
  });
}

function decodeChunked(payload: string): string {
  let out = "";
  let rest = payload;
  for (;;) {
    const lineEnd = rest.indexOf("\r\n");
    const size = parseInt(rest.slice(0, lineEnd), 16);
    if (!size) return out;
    out += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
}

describe("POST /:website", () => {
  test("stores one event, answers {inserted: 1}, and GET /:website shows it", async () => {
    const site = freshSite("single");
    expect(await post(`/${site}`, EVENT)).toEqual({ status: 200, body: { inserted: 1 } });
    expect(await get(`/${site}`)).toEqual({ status: 200, body: { list: [EVENT] } });
    expect(await get(`/${site}/count`)).toEqual({ status: 200, body: { total: 1, unique: 1 } });
  });

  test("every field is optional: an empty object is an event at the server's time", async () => {
    const { time, ...rest } = await ingestOne({});
    expect(time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    // Its address is the request's own (issue 15): an event without ip is the requester's.
    expect(rest).toEqual({ event: "", path: "", ip: "127.0.0.1", platform: "", refererDomain: "", countryCode: "" });
  });

  test("without a time, the event gets the server's time when it is processed", async () => {
    const before = Math.floor(Date.now() / 1000);
    const row = await ingestOne({ event: "now", ip: "10.0.0.1" });
    const after = Math.ceil(Date.now() / 1000);
    expect(row.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const seconds = Date.parse(row.time) / 1000;
    expect(seconds).toBeGreaterThanOrEqual(before);
    expect(seconds).toBeLessThanOrEqual(after);
  });

  test.each([
    ["RFC 3339 with Z", "2015-11-24T12:00:00Z", "2015-11-24T12:00:00Z"],
    ["RFC 3339 with milliseconds", "2015-11-24T12:00:01.000Z", "2015-11-24T12:00:01Z"],
    ["RFC 3339 with a positive offset", "2015-11-24T14:00:02+02:00", "2015-11-24T12:00:02Z"],
    ["RFC 3339 with a negative offset", "2015-11-24T07:00:03-05:00", "2015-11-24T12:00:03Z"],
    ["RFC 1123", "Tue, 24 Nov 2015 12:00:04 GMT", "2015-11-24T12:00:04Z"],
    ["Unix seconds as a string", "1448366405", "2015-11-24T12:00:05Z"],
    ["Unix seconds as a JSON number", 1448366406, "2015-11-24T12:00:06Z"],
  ])("time as %s lands on the right second", async (_format, time, expected) => {
    const row = await ingestOne({ ...EVENT, time });
    expect(row).toEqual({ ...EVENT, time: expected });
  });

  test.each([
    ["a word", "yesterday"],
    ["an empty string", ""],
    ["a date without a time", "2015-11-24"],
    ["a day that does not exist", "2015-11-31T12:00:00Z"],
    ["an hour that does not exist", "2015-11-24T25:00:00Z"],
    ["RFC 1123 without a zone", "Tue, 24 Nov 2015 12:00:00"],
    ["a fractional number", 1448366400.5],
  ])("time as %s is 400 InvalidTimeFormat, never silently now", async (_what, time) => {
    const site = freshSite("bad-time");
    const response = await post(`/${site}`, { ...EVENT, time });
    expectError(response, 400, "InvalidTimeFormat");
    expect(response.body.message).toContain("time");
    await expectNoWebsite(site);
  });
});

describe("GeoIP on the embedded database", () => {
  test.each([
    ["8.8.8.8", "us"],
    ["8.8.8.8:80", "us"],
    ["2001:4860:4860::8888", "us"],
    ["[2001:4860:4860::8888]:443", "us"],
    ["1.1.1.1", "au"],
  ])("ip %s is located in %p, and the ip is stored as sent", async (ip, countryCode) => {
    const row = await ingestOne({ time: EVENT.time, ip });
    expect(row).toEqual({ time: EVENT.time, event: "", path: "", ip, platform: "", refererDomain: "", countryCode });
  });

  test("a country the database finds wins over the body's countryCode", async () => {
    expect((await ingestOne({ ip: "8.8.8.8", countryCode: "fr" })).countryCode).toBe("us");
  });

  test("where the lookup finds nothing (a private IP), the body's countryCode is kept, lower-cased", async () => {
    expect((await ingestOne({ ip: "10.0.0.1", countryCode: "FR" })).countryCode).toBe("fr");
  });

  test("where the lookup finds nothing and the body sent none, countryCode is empty", async () => {
    expect((await ingestOne({ ip: "10.0.0.1" })).countryCode).toBe("");
    expect((await ingestOne({ ip: "not an ip" })).countryCode).toBe("");
  });
});

describe("enrichment from headers", () => {
  test.each([
    ["Windows Chrome", USER_AGENTS.windowsChrome, "Windows"],
    ["iPhone Safari", USER_AGENTS.iPhoneSafari, "iOS"],
    ["macOS Safari", USER_AGENTS.macSafari, "Mac OS"],
  ])("User-Agent of %s gives platform %p", async (_browser, userAgent, platform) => {
    const row = await ingestOne({ time: EVENT.time, headers: { "User-Agent": userAgent } });
    expect(row).toEqual({ time: EVENT.time, event: "", path: "", ip: "127.0.0.1", platform, refererDomain: "", countryCode: "" });
  });

  test.each(["user-agent", "USER-AGENT", "uSeR-aGeNt"])("the header name %p matches case-insensitively", async (name) => {
    expect((await ingestOne({ headers: { [name]: USER_AGENTS.windowsChrome } })).platform).toBe("Windows");
  });

  test.each(["Referer", "Referrer", "referer", "REFERRER"])(
    "%s gives refererDomain: the URL's host with its port, lower case",
    async (name) => {
      expect((await ingestOne({ headers: { [name]: "https://Example.COM:8080/x?y=1" } })).refererDomain).toBe("example.com:8080");
      expect((await ingestOne({ headers: { [name]: "https://WWW.Example.com/page" } })).refererDomain).toBe("www.example.com");
    },
  );

  test("Referrer-Policy is not a referrer", async () => {
    const row = await ingestOne({ headers: { "Referrer-Policy": "strict-origin-when-cross-origin" } });
    expect(row.refererDomain).toBe("");
    const both = await ingestOne({ headers: { "Referrer-Policy": "no-referrer", Referer: "https://news.example/a" } });
    expect(both.refererDomain).toBe("news.example");
  });

  test("platform and refererDomain sent in the body win over the headers", async () => {
    const row = await ingestOne({
      ...EVENT,
      platform: "Custom OS",
      refererDomain: "body.example",
      headers: { "User-Agent": USER_AGENTS.windowsChrome, Referer: "https://header.example/" },
    });
    expect(row).toEqual({ ...EVENT, platform: "Custom OS", refererDomain: "body.example" });
  });

  test("headers fill platform and refererDomain the body left out", async () => {
    const { platform, refererDomain, ...rest } = EVENT;
    const row = await ingestOne({
      ...rest,
      headers: { "User-Agent": USER_AGENTS.iPhoneSafari, Referer: "http://t.co/abc" },
    });
    expect(row).toEqual({ ...rest, platform: "iOS", refererDomain: "t.co" });
  });
});

describe("bulk inserts", () => {
  test("POST /:website/bulk stores every event and answers how many", async () => {
    const site = freshSite("bulk");
    const later = { ...NOVEMBER, time: "2015-11-03T10:00:00Z" };
    expect(await post(`/${site}/bulk`, { list: [NOVEMBER, OCTOBER, later] })).toEqual({ status: 200, body: { inserted: 3 } });
    // Oldest first, whatever the order they were sent in.
    expect(await get(`/${site}`)).toEqual({ status: 200, body: { list: [OCTOBER, NOVEMBER, later].map(stored) } });
  });

  test("POST /:website/bulk enriches each event like a single POST", async () => {
    const site = freshSite("bulk-enriched");
    const list = [
      { time: "2015-11-24T12:00:00Z", ip: "8.8.8.8", headers: { "User-Agent": USER_AGENTS.windowsChrome } },
      { time: "2015-11-24T12:00:01Z", ip: "1.1.1.1", headers: { referrer: "https://Blog.Example/" } },
    ];
    expect(await post(`/${site}/bulk`, { list })).toEqual({ status: 200, body: { inserted: 2 } });
    expect(await get(`/${site}`)).toEqual({
      status: 200,
      body: {
        list: [
          { time: "2015-11-24T12:00:00Z", event: "", path: "", ip: "8.8.8.8", platform: "Windows", refererDomain: "", countryCode: "us" },
          { time: "2015-11-24T12:00:01Z", event: "", path: "", ip: "1.1.1.1", platform: "", refererDomain: "blog.example", countryCode: "au" },
        ],
      },
    });
  });

  test("POST /:website/bulk with an empty list inserts nothing", async () => {
    expect(await post(`/${freshSite("bulk-empty")}/bulk`, { list: [] })).toEqual({ status: 200, body: { inserted: 0 } });
  });

  test("POST /bulk gives each website its own events", async () => {
    const [a, b, c] = [freshSite("multi-a"), freshSite("multi-b"), freshSite("multi-c")];
    const list = [
      { ...OCTOBER, website: a },
      { ...NOVEMBER, website: b },
      { ...NOVEMBER, website: a },
      { ...OCTOBER, website: c },
      { ...NOVEMBER, website: c },
      { ...NOVEMBER, website: c, time: "2015-11-05T00:00:00Z" },
    ];
    expect(await post("/bulk", { list })).toEqual({ status: 200, body: { inserted: 6 } });
    await expectCount(a, 2);
    await expectCount(b, 1);
    await expectCount(c, 3);
    // The website field says where an event goes; it is not part of the stored event.
    expect(await get(`/${a}`)).toEqual({ status: 200, body: { list: [stored(OCTOBER), stored(NOVEMBER)] } });
  });
});

describe("a request is all or nothing", () => {
  test.each([
    ["a bad time", { ...NOVEMBER, time: "tomorrow" }, "list[2].time", "InvalidTimeFormat"],
    ["a number where a string goes", { ...NOVEMBER, path: 5 }, "list[2].path", "InvalidEvent"],
    ["null", null, "list[2]", "InvalidEvent"],
    ["an array", [NOVEMBER], "list[2]", "InvalidEvent"],
    ["a string", "event", "list[2]", "InvalidEvent"],
    ["headers that are not an object", { ...NOVEMBER, headers: "User-Agent: x" }, "list[2].headers", "InvalidEvent"],
    ["a header value that is not a string", { ...NOVEMBER, headers: { "User-Agent": 5 } }, "list[2].headers", "InvalidEvent"],
  ])("POST /:website/bulk with %s at index 2 writes nothing to a new website", async (_what, item, field, code) => {
    const site = freshSite("atomic-new");
    const response = await post(`/${site}/bulk`, { list: [OCTOBER, NOVEMBER, item, OCTOBER] });
    expectError(response, 400, code);
    expect(response.body.message).toContain(field);
    await expectNoWebsite(site);
  });

  test("POST /:website/bulk with one bad item adds nothing to an existing website", async () => {
    const site = freshSite("atomic-existing");
    expect(await post(`/${site}/bulk`, { list: [OCTOBER, NOVEMBER] })).toEqual({ status: 200, body: { inserted: 2 } });
    const response = await post(`/${site}/bulk`, { list: [OCTOBER, NOVEMBER, OCTOBER, { ...NOVEMBER, ip: 42 }] });
    expectError(response, 400, "InvalidEvent");
    expect(response.body.message).toContain("list[3].ip");
    expect(await get(`/${site}`)).toEqual({ status: 200, body: { list: [stored(OCTOBER), stored(NOVEMBER)] } });
  });

  test.each([
    ["a missing website", {}, "list[1].website", "InvalidEvent"],
    ["a website that climbs out of the root", { website: "../escaped" }, "list[1].website", "InvalidWebsiteName"],
    ["a website with a slash", { website: "a/b" }, "list[1].website", "InvalidWebsiteName"],
    ["an empty website", { website: "" }, "list[1].website", "InvalidWebsiteName"],
    ["a website that is a number", { website: 7 }, "list[1].website", "InvalidWebsiteName"],
    ["a bad time", { website: "fine.example", time: "soon" }, "list[1].time", "InvalidTimeFormat"],
  ])("POST /bulk with %s at index 1 writes nothing to any website", async (_what, fields, field, code) => {
    const [a, b] = [freshSite("atomic-multi-a"), freshSite("atomic-multi-b")];
    const before = diskListing();
    const response = await post("/bulk", {
      list: [{ ...OCTOBER, website: a }, { ...NOVEMBER, ...fields }, { ...NOVEMBER, website: b }],
    });
    expectError(response, 400, code);
    expect(response.body.message).toContain(field);
    await expectNoWebsite(a);
    await expectNoWebsite(b);
    expect(diskListing()).toEqual(before);
  });
});

describe("bad bodies", () => {
  const ROUTES = ["/{site}", "/{site}/bulk", "/bulk"];
  const route = (template: string, site: string) => template.replace("{site}", site);

  test.each(ROUTES)("broken JSON on POST %s is 400 InvalidJSON and writes nothing", async (template) => {
    const site = freshSite("broken");
    expectError(await postRaw(route(template, site), '{"list": [{"time": '), 400, "InvalidJSON");
    await expectNoWebsite(site);
  });

  test.each(ROUTES)("an empty body on POST %s is 400 InvalidJSON", async (template) => {
    const site = freshSite("empty");
    expectError(await postRaw(route(template, site), ""), 400, "InvalidJSON");
    await expectNoWebsite(site);
  });

  test.each(["[1]", '"x"', "3", "null", "true"])("a body of %s on POST /:website is 400 InvalidEvent", async (raw) => {
    const site = freshSite("not-object");
    expectError(await postRaw(`/${site}`, raw), 400, "InvalidEvent");
    await expectNoWebsite(site);
  });

  test.each([
    ["list is a number", { list: 3 }],
    ["list is an object", { list: { 0: OCTOBER } }],
    ["list is missing", { ...OCTOBER }],
    ["the body is an array", [OCTOBER]],
  ])("a bulk body where %s is 400 InvalidEvent on both bulk routes", async (_what, body) => {
    const site = freshSite("bad-list");
    expectError(await post(`/${site}/bulk`, body), 400, "InvalidEvent");
    expectError(await post("/bulk", body), 400, "InvalidEvent");
    await expectNoWebsite(site);
  });

  test.each([
    ["event", "a number", 5],
    ["path", "a boolean", true],
    ["ip", "an array", ["10.0.0.1"]],
    ["platform", "an object", { name: "Linux" }],
    ["refererDomain", "a number", 1],
    ["countryCode", "a number", 33],
    ["headers", "a string", "User-Agent: x"],
    ["headers", "an array", ["User-Agent", "x"]],
  ])("%s as %s is 400 InvalidEvent naming the field", async (field, _type, value) => {
    const site = freshSite("wrong-type");
    const response = await post(`/${site}`, { ...EVENT, [field]: value });
    expectError(response, 400, "InvalidEvent");
    expect(response.body.message).toContain(field);
    await expectNoWebsite(site);
  });

  describe("with --max-body-size 2048", () => {
    let small: TestServer;
    beforeAll(async () => { small = await startServer({ args: ["--max-body-size", "2048"] }); });
    afterAll(() => small.stop());

    /** A valid event whose JSON is exactly `bytes` long. */
    const eventOfSize = (bytes: number) => {
      const base = JSON.stringify({ ...EVENT, path: "" });
      return JSON.stringify({ ...EVENT, path: "x".repeat(bytes - base.length) });
    };

    test("a valid body of 3000 bytes is 413 PayloadTooLarge and nothing is written", async () => {
      const body = eventOfSize(3000);
      expect(body.length).toBe(3000);
      const response = await request(`${small.url}/too-large.example`, { raw: body });
      expectError({ status: response.status, body: response.body }, 413, "PayloadTooLarge");
      const bulk = await request(`${small.url}/too-large.example/bulk`, { raw: `{"list":[${body}]}` });
      expectError({ status: bulk.status, body: bulk.body }, 413, "PayloadTooLarge");
      expect((await request(`${small.url}/too-large.example`)).status).toBe(404);
      expect(existsSync(join(small.root, "too-large.example"))).toBe(false);
    });

    test("a body sent in chunks without a Content-Length is held to the same limit", async () => {
      const bytes = new TextEncoder().encode(eventOfSize(3000));
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < bytes.length; at += 500) controller.enqueue(bytes.slice(at, at + 500));
          controller.close();
        },
      });
      const response = await fetch(`${small.url}/chunked.example`, { method: "POST", body: stream, headers: { "content-type": "application/json" } });
      expect(response.status).toBe(413);
      expect(await response.json()).toEqual({ code: "PayloadTooLarge", message: expect.any(String) });
      expect(existsSync(join(small.root, "chunked.example"))).toBe(false);
    });

    test("a body of 2000 bytes is under the limit and stored", async () => {
      const response = await request(`${small.url}/small-enough.example`, { raw: eventOfSize(2000) });
      expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: { inserted: 1 } });
    });
  });
});

describe("website names", () => {
  const REFUSED = [
    ["..", "%2e%2e"],
    ["an encoded slash", "a%2Fb"],
    ["a leading dot", ".hidden"],
    ["a NUL", "a%00b"],
    ["a space", "a%20b"],
    ["a leading dash", "-site"],
    ["201 characters", "a".repeat(201)],
  ];

  test.each(REFUSED)("a name with %s (/%s) is 400 InvalidWebsiteName on every route, and nothing is created", async (_what, segment) => {
    const before = diskListing();
    // Raw HTTP, so the path reaches the service exactly as written here.
    for (const [method, path, body] of [
      ["POST", `/${segment}`, JSON.stringify(EVENT)],
      ["POST", `/${segment}/bulk`, JSON.stringify({ list: [EVENT] })],
      ["GET", `/${segment}`, ""],
      ["GET", `/${segment}/count`, ""],
      ["DELETE", `/${segment}`, ""],
    ] as const) {
      const response = await rawHttp(method, path, body);
      expect({ request: `${method} ${path}`, ...response }).toEqual({
        request: `${method} ${path}`,
        status: 400,
        body: { code: "InvalidWebsiteName", message: expect.stringContaining("website") },
      });
    }
    expect(diskListing()).toEqual(before);
  });

  test("a name of 200 characters from the whole allowed set is accepted", async () => {
    const name = "Site_0.9-".repeat(23).slice(0, 200);
    expect(name).toHaveLength(200);
    expect(await post(`/${name}`, EVENT)).toEqual({ status: 200, body: { inserted: 1 } });
    expect(existsSync(join(server.root, name, "2015-11", "analytics.db"))).toBe(true);
    expect(await get(`/${name}`)).toEqual({ status: 200, body: { list: [EVENT] } });
  });
});

describe("DELETE /:website", () => {
  test("deletes the website's directory; it is unknown afterwards; others are untouched", async () => {
    const [site, neighbour] = [freshSite("doomed"), freshSite("neighbour")];
    expect(await post(`/${site}/bulk`, { list: [OCTOBER, NOVEMBER] })).toEqual({ status: 200, body: { inserted: 2 } });
    expect(await post(`/${neighbour}`, OCTOBER)).toEqual({ status: 200, body: { inserted: 1 } });

    const { status, body } = await request(`${server.url}/${site}`, { method: "DELETE" });
    expect({ status, body }).toEqual({ status: 200, body: { deleted: site } });
    expect(existsSync(join(server.root, site))).toBe(false);
    expectError(await get(`/${site}`), 404, "InvalidDatabaseName");
    expectError(await get(`/${site}/count`), 404, "InvalidDatabaseName");
    await expectCount(neighbour, 1);
  });

  test("deleting an unknown website is 404 InvalidDatabaseName", async () => {
    const { status, body } = await request(`${server.url}/${freshSite("never")}`, { method: "DELETE" });
    expectError({ status, body }, 404, "InvalidDatabaseName");
  });

  test("posting after a delete starts the website afresh with only the new event", async () => {
    const site = freshSite("reborn");
    expect(await post(`/${site}/bulk`, { list: [OCTOBER, NOVEMBER, NOVEMBER] })).toEqual({ status: 200, body: { inserted: 3 } });
    expect((await request(`${server.url}/${site}`, { method: "DELETE" })).status).toBe(200);
    expect(await post(`/${site}`, NOVEMBER)).toEqual({ status: 200, body: { inserted: 1 } });
    expect(await get(`/${site}/count`)).toEqual({ status: 200, body: { total: 1, unique: 1 } });
    expect(await get(`/${site}`)).toEqual({ status: 200, body: { list: [stored(NOVEMBER)] } });
  });
});

describe("on-disk layout", () => {
  test("events land in <root>/<website>/<YYYY-MM>/analytics.db by the UTC month of their time", async () => {
    const site = freshSite("layout");
    const list = [
      { ...OCTOBER, time: "2015-10-31T23:59:59Z" },
      // 1 November in +02:00, still 31 October in UTC.
      { ...OCTOBER, time: "2015-11-01T01:00:00+02:00" },
      { ...NOVEMBER, time: "2015-11-01T00:00:00Z" },
    ];
    expect(await post(`/${site}/bulk`, { list })).toEqual({ status: 200, body: { inserted: 3 } });

    const dir = join(server.root, site);
    expect(readdirSync(dir).sort()).toEqual(["2015-10", "2015-11"]);
    const timesIn = (month: string) => {
      const path = join(dir, month, "analytics.db");
      expect(existsSync(path)).toBe(true);
      const db = new Database(path, { readonly: true });
      try {
        return db.query<{ time: number }, []>("SELECT time FROM visits ORDER BY time").all().map((row) => row.time);
      } finally {
        db.close();
      }
    };
    expect(timesIn("2015-10")).toEqual([Date.parse("2015-10-31T23:00:00Z") / 1000, Date.parse("2015-10-31T23:59:59Z") / 1000]);
    expect(timesIn("2015-11")).toEqual([Date.parse("2015-11-01T00:00:00Z") / 1000]);
  });
});
