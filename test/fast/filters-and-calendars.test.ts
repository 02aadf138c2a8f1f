import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openApp, type TestApp } from "../helpers/app";

/**
 * The dashboard's questions, on a few events whose answers are written out
 * by hand (the README's examples are these): /paths, the filters, calendar
 * intervals in a time zone, and the errors of each.
 */
const SITE = "docs.example";
const EVENTS = [
  { time: "2016-03-26T22:30:00Z", event: "pageview", path: "/", ip: "10.0.0.1" },
  { time: "2016-03-26T23:30:00Z", event: "pageview", path: "/docs/install", ip: "10.0.0.1" },
  { time: "2016-03-27T12:00:00Z", event: "download", path: "/docs/install", ip: "10.0.0.2" },
  { time: "2016-03-27T21:30:00Z", event: "pageview", path: "/docs/api", ip: "10.0.0.3" },
  { time: "2016-03-27T22:30:00Z", event: "pageview", path: "/docs", ip: "10.0.0.2" },
];

let app: TestApp;
beforeAll(async () => {
  app = await openApp();
  expect((await app.request(`/${SITE}/bulk`, { body: { list: EVENTS } })).status).toBe(200);
});
afterAll(() => app.close());

const get = async (path: string) => {
  const answer = await app.request(`/${SITE}${path}`);
  expect(answer.status, `${path}: ${JSON.stringify(answer.body)}`).toBe(200);
  return answer.body;
};

describe("/paths", () => {
  test("breaks events down by path, like the other breakdowns", async () => {
    expect(await get("/paths?unique=true")).toEqual({
      list: [
        { id: "/docs/install", label: "/docs/install", total: 2, unique: 2 },
        { id: "/", label: "/", total: 1, unique: 1 },
        { id: "/docs", label: "/docs", total: 1, unique: 1 },
        { id: "/docs/api", label: "/docs/api", total: 1, unique: 1 },
      ],
    });
  });

  test("limit=N answers the first N rows, their visitors counted as in the whole list", async () => {
    const whole = (await get("/paths?unique=true")).list;
    for (const limit of [1, 2, 3, 4, 10]) expect((await get(`/paths?unique=true&limit=${limit}`)).list).toEqual(whole.slice(0, limit));
    // Filtered by the same dimension, and by another.
    const under = (await get("/paths?unique=true&path=/docs/*")).list;
    expect(under.map((row: { id: string }) => row.id)).toEqual(["/docs/install", "/docs/api"]);
    expect((await get("/paths?unique=true&path=/docs/*&limit=1")).list).toEqual(under.slice(0, 1));
    const pageviews = (await get("/paths?unique=true&event=pageview")).list;
    expect((await get("/paths?unique=true&event=pageview&limit=2")).list).toEqual(pageviews.slice(0, 2));
    expect((await get("/events?limit=1")).list).toEqual([{ id: "pageview", label: "pageview", total: 4, unique: 0 }]);
  });

  test("a limit that is no whole number from 1 to 100000 is 400 InvalidParameter; /count and /time take none", async () => {
    for (const limit of ["0", "-1", "1.5", "ten", "100001", ""]) {
      const answer = await app.request(`/${SITE}/paths?limit=${limit}`);
      expect([answer.status, answer.body.code], `limit=${limit}`).toEqual([400, "InvalidParameter"]);
    }
    for (const route of ["/count", "/time"]) expect((await app.request(`/${SITE}${route}?limit=1`)).body.code).toBe("InvalidParameter");
  });
});

describe("filters", () => {
  test("a value keeps the events that have it; given twice, either; several parameters, all", async () => {
    expect(await get("/count?event=download")).toEqual({ total: 1, unique: 1 });
    expect(await get("/count?path=/&path=/docs")).toEqual({ total: 2, unique: 2 });
    expect(await get("/count?event=pageview&path=/docs/install")).toEqual({ total: 1, unique: 1 });
    expect(await get("/count?event=nothing")).toEqual({ total: 0, unique: 0 });
  });

  test("path=/docs/* keeps everything under /docs/, not /docs itself", async () => {
    expect(await get("/paths?path=/docs/*")).toEqual({
      list: [
        { id: "/docs/install", label: "/docs/install", total: 2, unique: 0 },
        { id: "/docs/api", label: "/docs/api", total: 1, unique: 0 },
      ],
    });
    expect(await get("/events?path=/docs/*&path=/docs&unique=true")).toEqual({
      list: [
        { id: "pageview", label: "pageview", total: 3, unique: 3 },
        { id: "download", label: "download", total: 1, unique: 1 },
      ],
    });
  });

  test("filters apply to series and to the event list", async () => {
    expect(await get("/time?event=download")).toEqual({ list: [{ start: "2016-03-27T00:00:00Z", end: "2016-03-28T00:00:00Z", total: 1, unique: 0 }] });
    expect((await get("?path=/docs/*&event=pageview")).list.map(({ time }: { time: string }) => time)).toEqual(["2016-03-26T23:30:00Z", "2016-03-27T21:30:00Z"]);
    const csv = await app.fetch(`/${SITE}?format=csv&event=download`);
    expect((await csv.text()).split("\r\n")[1]).toBe('2016-03-27T12:00:00Z,"download","/docs/install","10.0.0.2","","",""');
  });
});

describe("calendar intervals", () => {
  test("local days in a time zone, a short one where the clocks change", async () => {
    // Paris moved to summer time on 2016-03-27: that day has 23 hours.
    expect(await get("/time?interval=day&tz=Europe/Paris&unique=true")).toEqual({
      list: [
        { start: "2016-03-25T23:00:00Z", end: "2016-03-26T23:00:00Z", total: 1, unique: 1 },
        { start: "2016-03-26T23:00:00Z", end: "2016-03-27T22:00:00Z", total: 3, unique: 3 },
        { start: "2016-03-27T22:00:00Z", end: "2016-03-28T22:00:00Z", total: 1, unique: 1 },
      ],
    });
    // tz alone means local days.
    expect(await get("/time?tz=Europe/Paris&unique=true")).toEqual(await get("/time?interval=day&tz=Europe/Paris&unique=true"));
  });

  test("in UTC by default; weeks start on Monday, months on the first", async () => {
    expect(await get("/time?interval=day")).toEqual(await get("/time?interval=86400"));
    // 2016-03-26 is a Saturday, 2016-03-27 a Sunday: one week, from Monday the 21st.
    expect(await get("/time?interval=week")).toEqual({
      list: [{ start: "2016-03-21T00:00:00Z", end: "2016-03-28T00:00:00Z", total: 5, unique: 0 }],
    });
    expect(await get("/time?interval=month&tz=America/New_York")).toEqual({
      list: [{ start: "2016-03-01T05:00:00Z", end: "2016-04-01T04:00:00Z", total: 5, unique: 0 }],
    });
  });

  test("an unknown zone is 400 InvalidTimeZone; tz with a number of seconds is 400 InvalidParameter", async () => {
    const unknown = await app.request(`/${SITE}/time?interval=day&tz=Europe/Atlantis`);
    expect({ status: unknown.status, code: unknown.body.code }).toEqual({ status: 400, code: "InvalidTimeZone" });
    const numeric = await app.request(`/${SITE}/time?interval=3600&tz=Europe/Paris`);
    expect({ status: numeric.status, code: numeric.body.code }).toEqual({ status: 400, code: "InvalidParameter" });
    expect(numeric.body.message).toContain("tz");
    const fortnight = await app.request(`/${SITE}/time?interval=fortnight`);
    expect({ status: fortnight.status, code: fortnight.body.code }).toEqual({ status: 400, code: "InvalidInterval" });
    expect(fortnight.body.message).toContain("hour, day, week, month, year");
  });
});
