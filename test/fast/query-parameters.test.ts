import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openApp, type TestApp } from "../helpers/app";
import { writeOriginalShard } from "../helpers/files";

/**
 * The query string of every read route is read once, as it was sent: a
 * parameter that takes one value and is given twice, and a parameter the
 * route does not know, are refused with 400 InvalidParameter naming it,
 * rather than one of the values (or the parameter) being silently dropped.
 */
const SITE = "params.example";
const EVENTS = [
  { time: "2015-11-24T13:00:00Z", event: "view", ip: "10.0.0.1" },
  { time: "2015-11-25T13:00:00Z", event: "view", ip: "10.0.0.2" },
];
const ROUTES = ["", "/count", "/countries", "/platforms", "/domains", "/events", "/time"];

let app: TestApp;
beforeAll(async () => {
  app = await openApp();
  expect((await app.request(`/${SITE}/bulk`, { body: { list: EVENTS } })).status).toBe(200);
});
afterAll(() => app.close());

const get = (route: string, query: string) => app.request(`/${SITE}${route}?${query}`);

function expectRefused(answer: { status: number; body: any }, code: string, names: string) {
  expect({ status: answer.status, code: answer.body.code }).toEqual({ status: 400, code });
  expect(answer.body.message).toContain(names);
}

describe("a parameter that takes one value", () => {
  test.each(ROUTES)("given twice on GET /:website%s is 400 InvalidParameter naming it", async (route) => {
    expectRefused(await get(route, "start=1448323200&start=1448409600"), "InvalidParameter", "start");
    expectRefused(await get(route, "end=1448409600&end=1448409601"), "InvalidParameter", "end");
  });

  test.each(["/countries", "/time"])("unique=true&unique=false on %s is refused, not read as false", async (route) => {
    expectRefused(await get(route, "unique=true&unique=false"), "InvalidParameter", "unique");
  });

  test("interval twice, and the list's format, limit and cursor twice, are refused", async () => {
    expectRefused(await get("/time", "interval=3600&interval=60"), "InvalidParameter", "interval");
    expectRefused(await get("", "format=csv&format=json"), "InvalidParameter", "format");
    expectRefused(await get("", "limit=1&limit=2"), "InvalidParameter", "limit");
  });

  test("given once, each is still read", async () => {
    expect((await get("/count", "start=1448409600")).body).toEqual({ total: 1, unique: 1 });
    expect((await get("/events", "unique=true")).body.list).toEqual([{ id: "view", label: "view", total: 2, unique: 2 }]);
  });
});

describe("a parameter the route does not know", () => {
  test.each(ROUTES)("on GET /:website%s is 400 InvalidParameter naming it", async (route) => {
    expectRefused(await get(route, "uniq=true"), "InvalidParameter", "uniq");
    expectRefused(await get(route, "start=1448323200&Start=1"), "InvalidParameter", "Start");
  });

  test("parameters of one route are not accepted by another", async () => {
    expectRefused(await get("/count", "interval=3600"), "InvalidParameter", "interval");
    expectRefused(await get("/countries", "format=csv"), "InvalidParameter", "format");
    expectRefused(await get("", "interval=3600"), "InvalidParameter", "interval");
  });

  test.each(ROUTES)("the original's cache parameter stays accepted on GET /:website%s", async (route) => {
    const plain = await get(route, "start=1448323200");
    expect(plain.status).toBe(200);
    expect(await get(route, "start=1448323200&cache=true")).toEqual(plain);
  });
});

describe("buckets at the end of time", () => {
  test("an interval whose first bucket would end after 9999-12-31T23:59:59Z is 400 InvalidInterval", async () => {
    expectRefused(await get("/time", "interval=999999999999"), "InvalidInterval", "9999-12-31T23:59:59Z");
    expectRefused(await get("/time", "interval=253402300801"), "InvalidInterval", "interval");
    // The longest interval allowed: one bucket from the epoch to the end of 9999.
    expect((await get("/time", "interval=253402300800")).body).toEqual({
      list: [{ start: "1970-01-01T00:00:00Z", end: "9999-12-31T23:59:59Z", total: 2, unique: 0 }],
    });
  });

  test("a bucket that would end after 9999 ends at 9999-12-31T23:59:59Z, never as a six-digit year", async () => {
    const site = "end-of-time.example";
    writeOriginalShard(app.root, site, "9999-12", [
      { time: 253402300799, event: "last", path: "/", ip: "10.0.0.9", platform: "", refererDomain: "", countryCode: "" },
    ]);
    const answer = await app.request(`/${site}/time?interval=${7 * 86_400}`);
    expect(answer.status).toBe(200);
    const [bucket] = answer.body.list;
    expect(bucket.end).toBe("9999-12-31T23:59:59Z");
    expect(bucket.start).toMatch(/^9999-12-\d\dT00:00:00Z$/);
  });
});
