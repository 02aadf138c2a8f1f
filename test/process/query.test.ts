import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { request, startServer, type TestServer } from "../helpers/server";

/**
 * The fixed data set every query test reads: eight events of one website over
 * the end of October and the start of November 2016, so they live in two month
 * shards. 2016 rather than 2015 because the 30-day buckets of 2015 happen to
 * start exactly on 1 November; in 2016 one 30-day bucket (2016-10-26 to
 * 2016-11-25) spans the month boundary.
 *
 * Visitors: 10.0.0.1 and 10.0.0.2 in both months, 10.0.0.3 only in October,
 * 10.0.0.4 only in November. Four distinct visitors; a per-month sum says six.
 *
 * The IPs are private, so the GeoIP lookup finds nothing and the body's
 * countryCode is kept. Declared in the exact shape GET /:website answers, oldest first.
 */
const DATA = [
  /* 0 */ { time: "2016-10-30T09:15:00Z", event: "view", path: "/", ip: "10.0.0.1", platform: "Windows", refererDomain: "google.com", countryCode: "fr" },
  /* 1 */ { time: "2016-10-30T17:40:00Z", event: "view", path: "/pricing", ip: "10.0.0.2", platform: "Linux", refererDomain: "google.com", countryCode: "de" },
  /* 2 */ { time: "2016-10-31T08:05:00Z", event: "download", path: "/app.zip", ip: "10.0.0.1", platform: "Windows", refererDomain: "news.ycombinator.com", countryCode: "fr" },
  /* 3 */ { time: "2016-10-31T23:59:59Z", event: "view", path: "/", ip: "10.0.0.3", platform: "Mac OS", refererDomain: "twitter.com", countryCode: "us" },
  /* 4 */ { time: "2016-11-01T00:00:00Z", event: "view", path: "/", ip: "10.0.0.1", platform: "Windows", refererDomain: "google.com", countryCode: "fr" },
  /* 5 */ { time: "2016-11-01T10:30:00Z", event: "signup", path: "/signup", ip: "10.0.0.2", platform: "Linux", refererDomain: "google.com", countryCode: "de" },
  /* 6 */ { time: "2016-11-02T14:00:00Z", event: "view", path: "/docs", ip: "10.0.0.4", platform: "iOS", refererDomain: "twitter.com", countryCode: "fr" },
  /* 7 */ { time: "2016-11-02T14:20:00Z", event: "download", path: "/app.zip", ip: "10.0.0.4", platform: "Mac OS", refererDomain: "news.ycombinator.com", countryCode: "fr" },
];

const SITE = "shop.example";
/** Another website in the same months: none of its events may show up in SITE's answers. */
const OTHER_SITE = "other.example";
const OTHER_EVENT = { time: "2016-10-31T12:00:00Z", event: "view", path: "/", ip: "10.0.0.9", platform: "Linux", refererDomain: "other.com", countryCode: "de" };

const GROUP_BY_ROUTES = ["countries", "platforms", "domains", "events"] as const;
const EVERY_GET_ROUTE = ["", "/count", ...GROUP_BY_ROUTES.map((route) => `/${route}`), "/time"];

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
  // Posted newest first, so "oldest first" in the answers is the service's doing.
  const posted = await request(`${server.url}/${SITE}/bulk`, { body: { list: [...DATA].reverse() } });
  expect(posted).toMatchObject({ status: 200, body: { inserted: DATA.length } });
  const other = await request(`${server.url}/${OTHER_SITE}`, { body: OTHER_EVENT });
  expect(other).toMatchObject({ status: 200, body: { inserted: 1 } });
});

afterAll(() => server.stop());

/** GET `/<website><route>?<params>`; the answer's status and body together, for one readable diff. */
async function get(route: string, params: Record<string, string> = {}, website = SITE) {
  const query = new URLSearchParams(params).toString();
  const response = await request(`${server.url}/${website}${route}${query ? `?${query}` : ""}`);
  return { status: response.status, body: response.body };
}

async function expectAnswer(route: string, params: Record<string, string>, body: unknown) {
  expect(await get(route, params)).toEqual({ status: 200, body });
}

/** Every error is exactly {code, message}, with a message a person can read. */
function expectError(response: { status: number; body: any }, status: number, code: string) {
  expect(response).toEqual({ status, body: { code, message: expect.any(String) } });
  expect(response.body.message.trim()).not.toBe("");
}

describe("GET /:website (the full list)", () => {
  test("answers every event of the website, oldest first, times as RFC 3339 UTC to the second", async () => {
    await expectAnswer("", {}, { list: DATA });
  });

  test("answers JSON", async () => {
    const response = await fetch(`${server.url}/${SITE}`);
    expect(response.headers.get("content-type")).toStartWith("application/json");
  });

  test("a known website with no event in range answers an empty list, never null", async () => {
    await expectAnswer("", { start: "2020-01-01T00:00:00Z" }, { list: [] });
    // A gap between two events inside one month shard.
    await expectAnswer("", { start: "2016-10-30T10:00:00Z", end: "2016-10-30T17:00:00Z" }, { list: [] });
  });
});

describe("GET /:website/count", () => {
  test("counts every event and every distinct visitor, exactly across the two months", async () => {
    // Per-month distinct counts would sum to 3 + 3 = 6.
    await expectAnswer("/count", {}, { total: 8, unique: 4 });
  });

  test("unique is exact over a range that spans the month boundary", async () => {
    // Events 2–5: visitors 10.0.0.1 and .3 in October, .1 and .2 in November; a per-month sum says 4.
    await expectAnswer("/count", { start: "2016-10-31T00:00:00Z", end: "2016-11-01T23:59:59Z" }, { total: 4, unique: 3 });
  });

  test("unique is always computed, whatever the unique parameter says", async () => {
    await expectAnswer("/count", { unique: "false" }, { total: 8, unique: 4 });
    await expectAnswer("/count", { unique: "true" }, { total: 8, unique: 4 });
  });

  test("a known website with no event in range counts zero", async () => {
    await expectAnswer("/count", { end: "2016-01-01T00:00:00Z" }, { total: 0, unique: 0 });
  });
});

describe("group-by routes", () => {
  test("/countries labels each code with its English name, sorted by total desc", async () => {
    await expectAnswer("/countries", {}, {
      list: [
        { id: "fr", label: "France", total: 5, unique: 0 },
        { id: "de", label: "Germany", total: 2, unique: 0 },
        { id: "us", label: "United States of America", total: 1, unique: 0 },
      ],
    });
  });

  test("/countries?unique=true counts distinct visitors exactly across months", async () => {
    // fr: 10.0.0.1 in both months and 10.0.0.4 → 2 (a per-month sum says 3);
    // de: 10.0.0.2 in both months → 1 (a per-month sum says 2).
    await expectAnswer("/countries", { unique: "true" }, {
      list: [
        { id: "fr", label: "France", total: 5, unique: 2 },
        { id: "de", label: "Germany", total: 2, unique: 1 },
        { id: "us", label: "United States of America", total: 1, unique: 1 },
      ],
    });
  });

  test("/platforms: label is the id, ties broken by id ascending", async () => {
    await expectAnswer("/platforms", {}, {
      list: [
        { id: "Windows", label: "Windows", total: 3, unique: 0 },
        { id: "Linux", label: "Linux", total: 2, unique: 0 },
        { id: "Mac OS", label: "Mac OS", total: 2, unique: 0 },
        { id: "iOS", label: "iOS", total: 1, unique: 0 },
      ],
    });
    await expectAnswer("/platforms", { unique: "true" }, {
      list: [
        { id: "Windows", label: "Windows", total: 3, unique: 1 },
        { id: "Linux", label: "Linux", total: 2, unique: 1 },
        { id: "Mac OS", label: "Mac OS", total: 2, unique: 2 },
        { id: "iOS", label: "iOS", total: 1, unique: 1 },
      ],
    });
  });

  test("/domains groups by refererDomain", async () => {
    await expectAnswer("/domains", {}, {
      list: [
        { id: "google.com", label: "google.com", total: 4, unique: 0 },
        { id: "news.ycombinator.com", label: "news.ycombinator.com", total: 2, unique: 0 },
        { id: "twitter.com", label: "twitter.com", total: 2, unique: 0 },
      ],
    });
    await expectAnswer("/domains", { unique: "true" }, {
      list: [
        { id: "google.com", label: "google.com", total: 4, unique: 2 },
        { id: "news.ycombinator.com", label: "news.ycombinator.com", total: 2, unique: 2 },
        { id: "twitter.com", label: "twitter.com", total: 2, unique: 2 },
      ],
    });
  });

  test("/events groups by event", async () => {
    await expectAnswer("/events", {}, {
      list: [
        { id: "view", label: "view", total: 5, unique: 0 },
        { id: "download", label: "download", total: 2, unique: 0 },
        { id: "signup", label: "signup", total: 1, unique: 0 },
      ],
    });
    await expectAnswer("/events", { unique: "true" }, {
      list: [
        { id: "view", label: "view", total: 5, unique: 4 },
        { id: "download", label: "download", total: 2, unique: 2 },
        { id: "signup", label: "signup", total: 1, unique: 1 },
      ],
    });
  });

  test("a group-by honours the time range", async () => {
    // November only: events 4–7.
    await expectAnswer("/events", { start: "2016-11-01T00:00:00Z", unique: "true" }, {
      list: [
        { id: "view", label: "view", total: 2, unique: 2 },
        { id: "download", label: "download", total: 1, unique: 1 },
        { id: "signup", label: "signup", total: 1, unique: 1 },
      ],
    });
  });

  test.each(GROUP_BY_ROUTES)("/%s answers an empty list for a range with no event", async (route) => {
    await expectAnswer(`/${route}`, { start: "2020-01-01T00:00:00Z", unique: "true" }, { list: [] });
  });
});

describe("GET /:website/time", () => {
  const dailyBuckets = (unique: boolean) => [
    { start: "2016-10-30T00:00:00Z", end: "2016-10-31T00:00:00Z", total: 2, unique: unique ? 2 : 0 },
    { start: "2016-10-31T00:00:00Z", end: "2016-11-01T00:00:00Z", total: 2, unique: unique ? 2 : 0 },
    { start: "2016-11-01T00:00:00Z", end: "2016-11-02T00:00:00Z", total: 2, unique: unique ? 2 : 0 },
    { start: "2016-11-02T00:00:00Z", end: "2016-11-03T00:00:00Z", total: 2, unique: unique ? 1 : 0 },
  ];

  test("the default interval is one day; only days with events, ascending", async () => {
    await expectAnswer("/time", {}, { list: dailyBuckets(false) });
    await expectAnswer("/time", { unique: "true" }, { list: dailyBuckets(true) });
    await expectAnswer("/time", { interval: "86400", unique: "true" }, { list: dailyBuckets(true) });
  });

  test("interval=3600 makes hourly buckets", async () => {
    await expectAnswer("/time", { interval: "3600", unique: "true" }, {
      list: [
        { start: "2016-10-30T09:00:00Z", end: "2016-10-30T10:00:00Z", total: 1, unique: 1 },
        { start: "2016-10-30T17:00:00Z", end: "2016-10-30T18:00:00Z", total: 1, unique: 1 },
        { start: "2016-10-31T08:00:00Z", end: "2016-10-31T09:00:00Z", total: 1, unique: 1 },
        { start: "2016-10-31T23:00:00Z", end: "2016-11-01T00:00:00Z", total: 1, unique: 1 },
        { start: "2016-11-01T00:00:00Z", end: "2016-11-01T01:00:00Z", total: 1, unique: 1 },
        { start: "2016-11-01T10:00:00Z", end: "2016-11-01T11:00:00Z", total: 1, unique: 1 },
        { start: "2016-11-02T14:00:00Z", end: "2016-11-02T15:00:00Z", total: 2, unique: 1 },
      ],
    });
  });

  test("every bucket starts on a multiple of the interval since the epoch and ends one interval later", async () => {
    const { body } = await get("/time", { interval: "3600" });
    expect(body.list.length).toBeGreaterThan(0);
    for (const bucket of body.list) {
      const start = Date.parse(bucket.start) / 1000;
      expect(start % 3600).toBe(0);
      expect(Date.parse(bucket.end) / 1000 - start).toBe(3600);
    }
  });

  test("a 30-day bucket spanning the month boundary counts unique visitors exactly", async () => {
    // 2016-10-26 is 17,100 days after the epoch, a multiple of 30. Per-month unique would sum to 6.
    await expectAnswer("/time", { interval: "2592000", unique: "true" }, {
      list: [{ start: "2016-10-26T00:00:00Z", end: "2016-11-25T00:00:00Z", total: 8, unique: 4 }],
    });
  });

  test("buckets are aligned on the epoch, not on the start of the range", async () => {
    // One week: weeks since the epoch start on Thursdays; 2016-10-27 is one.
    await expectAnswer("/time", { interval: "604800", start: "2016-10-31T00:00:00Z", unique: "true" }, {
      list: [{ start: "2016-10-27T00:00:00Z", end: "2016-11-03T00:00:00Z", total: 6, unique: 4 }],
    });
  });

  test("a range with no event answers an empty list", async () => {
    await expectAnswer("/time", { end: "2016-10-29T23:59:59Z" }, { list: [] });
  });
});

describe("start and end", () => {
  /** Events 1 to 6 inclusive: start is exactly event 1's time, end exactly event 6's. */
  const inclusive = { list: DATA.slice(1, 7) };

  test.each([
    ["RFC 3339 with Z", "2016-10-30T17:40:00Z", "2016-11-02T14:00:00Z"],
    ["RFC 3339 with milliseconds", "2016-10-30T17:40:00.000Z", "2016-11-02T14:00:00.000Z"],
    ["RFC 3339 with a positive offset", "2016-10-30T19:40:00+02:00", "2016-11-02T16:00:00+02:00"],
    ["RFC 3339 with a negative offset", "2016-10-30T12:40:00-05:00", "2016-11-02T09:00:00-05:00"],
    ["RFC 1123", "Sun, 30 Oct 2016 17:40:00 GMT", "Wed, 02 Nov 2016 14:00:00 GMT"],
    ["Unix seconds", "1477849200", "1478095200"],
    ["mixed formats", "2016-10-30T19:40:00+02:00", "1478095200"],
  ])("%s: bounds are inclusive", async (_format, start, end) => {
    await expectAnswer("", { start, end }, inclusive);
    await expectAnswer("/count", { start, end }, { total: 6, unique: 4 });
  });

  test("one second inside each bound leaves out the events on the bounds", async () => {
    await expectAnswer("", { start: "2016-10-30T17:40:01Z", end: "2016-11-02T13:59:59Z" }, { list: DATA.slice(2, 6) });
  });

  test("start equal to end selects the events at that second", async () => {
    await expectAnswer("", { start: "2016-10-31T23:59:59Z", end: "2016-10-31T23:59:59Z" }, { list: [DATA[3]] });
  });

  test("only start: everything from start on", async () => {
    await expectAnswer("", { start: "2016-11-01T00:00:00Z" }, { list: DATA.slice(4) });
    await expectAnswer("/count", { start: "2016-11-01T00:00:00Z" }, { total: 4, unique: 3 });
  });

  test("only end: everything up to end", async () => {
    await expectAnswer("", { end: "2016-10-31T23:59:59Z" }, { list: DATA.slice(0, 4) });
    await expectAnswer("/count", { end: "2016-10-31T23:59:59Z" }, { total: 4, unique: 3 });
  });

  test("the range applies to /time too", async () => {
    await expectAnswer("/time", { start: "2016-10-31T12:00:00Z", end: "2016-11-01T12:00:00Z", unique: "true" }, {
      list: [
        { start: "2016-10-31T00:00:00Z", end: "2016-11-01T00:00:00Z", total: 1, unique: 1 },
        { start: "2016-11-01T00:00:00Z", end: "2016-11-02T00:00:00Z", total: 2, unique: 2 },
      ],
    });
  });
});

describe("the cache parameter", () => {
  test.each(EVERY_GET_ROUTE)("GET /:website%s answers the same with cache=true or cache=false", async (route) => {
    // The event list takes no `unique`: an unknown parameter is refused.
    const params = { ...(route === "" ? {} : { unique: "true" }), start: "2016-10-30T12:00:00Z" };
    const plain = await get(route, params);
    expect(plain.status).toBe(200);
    expect(await get(route, { ...params, cache: "true" })).toEqual(plain);
    expect(await get(route, { ...params, cache: "false" })).toEqual(plain);
  });
});

describe("query errors", () => {
  test.each(EVERY_GET_ROUTE)("end before start on GET /:website%s is 400 InvalidTimeRange", async (route) => {
    expectError(await get(route, { start: "2016-11-02T00:00:00Z", end: "2016-11-01T00:00:00Z" }), 400, "InvalidTimeRange");
  });

  test.each([
    ["start", "yesterday"],
    ["start", "2016-13-01T00:00:00Z"],
    ["start", "2016-02-30T00:00:00Z"],
    ["end", "2016-11-02"],
    ["end", "Wed, 02 Nov 2016 14:00:00"],
    ["end", "1.5"],
    ["start", ""],
  ])("%s=%p is 400 InvalidTimeFormat on every GET route", async (name, value) => {
    for (const route of EVERY_GET_ROUTE) {
      const response = await get(route, { [name]: value });
      expectError(response, 400, "InvalidTimeFormat");
      expect(response.body.message).toContain(name);
    }
  });

  test.each(["0", "-5", "1.5", "abc", ""])("interval=%p is 400 InvalidInterval", async (interval) => {
    expectError(await get("/time", { interval }), 400, "InvalidInterval");
  });

  test.each(["foo", "visits", "COUNT", "countries.json"])("GET /:website/%s is 400 InvalidProperty", async (property) => {
    expectError(await get(`/${property}`), 400, "InvalidProperty");
  });

  test.each(EVERY_GET_ROUTE)("an unknown website on GET /:website%s is 404 InvalidDatabaseName", async (route) => {
    expectError(await get(route, {}, "unknown.example"), 404, "InvalidDatabaseName");
  });

  test.each([...GROUP_BY_ROUTES.map((route) => `/${route}`), "/time"])("unique=maybe on %s is 400 InvalidParameter", async (route) => {
    expectError(await get(route, { unique: "maybe" }), 400, "InvalidParameter");
  });
});
