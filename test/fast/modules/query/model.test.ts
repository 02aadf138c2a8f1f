import { describe, expect, test } from "bun:test";
import { AppError } from "../../../../src/errors";
import { decodeCursor, encodeCursor } from "../../../../src/modules/query/export";
import {
  MAX_PAGE,
  parseBreakdown,
  parseExport,
  parseInterval,
  parseRange,
  parseUnique,
  QueryParams,
  ROUTE_PARAMS,
} from "../../../../src/modules/query/model";

function codeOf(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  return "accepted";
}

/** A route's query string, read as the route reads it. */
function query(search: Record<string, string> | string, route: keyof typeof ROUTE_PARAMS = "series"): QueryParams {
  const text = typeof search === "string" ? search : new URLSearchParams(search).toString();
  return QueryParams.read(new Request(`http://service.test/site.example?${text}`), ROUTE_PARAMS[route]);
}

describe("the query string", () => {
  test("a parameter the route does not take, or one given twice, is InvalidParameter; filters may repeat", () => {
    expect(codeOf(() => query("unique=true", "list"))).toBe("InvalidParameter");
    expect(codeOf(() => query("uniqe=true"))).toBe("InvalidParameter");
    expect(codeOf(() => query("start=1&start=2"))).toBe("InvalidParameter");
    expect(query("event=a&event=b").all("event")).toEqual(["a", "b"]);
    expect(codeOf(() => query("cache=true", "list"))).toBe("accepted");
  });
});

describe("the range", () => {
  test("start and end are optional and inclusive, in any accepted form", () => {
    expect(parseRange(query({}))).toEqual({ start: undefined, end: undefined });
    expect(parseRange(query({ start: "2015-11-24T12:00:00Z" }))).toEqual({ start: 1_448_366_400, end: undefined });
    expect(parseRange(query({ start: "1448366400", end: "Tue, 24 Nov 2015 12:00:00 GMT" }))).toEqual({ start: 1_448_366_400, end: 1_448_366_400 });
  });

  test("an offset's + that a URL turned into a space is read as +", () => {
    expect(parseRange(query("start=2015-11-24T14:00:00+02:00")).start).toBe(1_448_366_400);
  });

  test("end before start is InvalidTimeRange; a bad time InvalidTimeFormat", () => {
    expect(codeOf(() => parseRange(query({ start: "1448366401", end: "1448366400" })))).toBe("InvalidTimeRange");
    expect(codeOf(() => parseRange(query({ end: "yesterday" })))).toBe("InvalidTimeFormat");
    expect(codeOf(() => parseRange(query({ start: "" })))).toBe("InvalidTimeFormat");
  });
});

describe("unique, interval and breakdown", () => {
  test("unique is true for true or 1, false when absent, empty, false or 0, else refused", () => {
    for (const value of ["true", "1"]) expect(parseUnique(query({ unique: value }))).toBe(true);
    expect(parseUnique(query({}))).toBe(false);
    for (const value of ["", "false", "0"]) expect(parseUnique(query({ unique: value }))).toBe(false);
    expect(codeOf(() => parseUnique(query({ unique: "maybe" })))).toBe("InvalidParameter");
  });

  test("interval is a positive whole number of seconds (a day by default) or a calendar unit of a zone", () => {
    expect(parseInterval(query({}))).toEqual({ seconds: 86_400 });
    expect(parseInterval(query({ interval: "3600" }))).toEqual({ seconds: 3600 });
    expect(parseInterval(query({ interval: "week", tz: "Europe/Paris" }))).toEqual({ unit: "week", zone: "Europe/Paris" });
    expect(parseInterval(query({ tz: "America/New_York" }))).toEqual({ unit: "day", zone: "America/New_York" });
    for (const interval of ["0", "-5", "1.5", "abc", "", "1e3", "9999999999999", "fortnight"]) {
      expect({ interval, code: codeOf(() => parseInterval(query({ interval }))) }).toEqual({ interval, code: "InvalidInterval" });
    }
    expect(codeOf(() => parseInterval(query({ interval: "day", tz: "Mars/Olympus" })))).toBe("InvalidTimeZone");
    expect(codeOf(() => parseInterval(query({ interval: "3600", tz: "UTC" })))).toBe("InvalidParameter");
  });

  test("the breakdowns are the dimensions' routes; anything else is InvalidProperty", () => {
    const dimensions = ["countries", "platforms", "domains", "events", "paths"].map(parseBreakdown);
    expect(dimensions).toEqual(["countryCode", "platform", "refererDomain", "event", "path"]);
    for (const segment of ["foo", "COUNT", "countries.json", "__proto__", "constructor", "hasOwnProperty"]) {
      expect({ segment, code: codeOf(() => parseBreakdown(segment)) }).toEqual({ segment, code: "InvalidProperty" });
    }
  });
});

describe("format and paging", () => {
  test("json by default; ndjson and csv; a limit from 1 to the page size, and a cursor only with a limit", () => {
    expect(parseExport(query({}, "list"))).toEqual({ format: "json", limit: undefined, after: undefined });
    expect(parseExport(query({ format: "csv", limit: String(MAX_PAGE) }, "list"))).toEqual({ format: "csv", limit: MAX_PAGE, after: undefined });
    const cursor = encodeCursor({ month: "2015-11", time: 1_448_366_400, rowid: 7 });
    expect(parseExport(query({ format: "ndjson", limit: "10", cursor }, "list"))).toEqual({
      format: "ndjson",
      limit: 10,
      after: { month: "2015-11", time: 1_448_366_400, rowid: 7 },
    });
  });

  test.each([
    ["format=xml", { format: "xml" }],
    ["limit=0", { limit: "0" }],
    ["limit=-1", { limit: "-1" }],
    ["limit=abc", { limit: "abc" }],
    ["a limit over the page size", { limit: String(MAX_PAGE + 1) }],
    ["a cursor without a limit", { cursor: encodeCursor({ month: "2015-11", time: 1, rowid: 1 }) }],
    ["a cursor that is not one", { limit: "10", cursor: "garbage" }],
    ["a cursor of the wrong shape", { limit: "10", cursor: Buffer.from("2015-10.1.1.1").toString("base64url") }],
  ])("%s is InvalidParameter", (_what, search) => {
    expect(codeOf(() => parseExport(query(search, "list")))).toBe("InvalidParameter");
  });

  test("a cursor is opaque base64url that gives back the position it was made from", () => {
    for (const position of [
      { month: "2015-11", time: 1_448_366_400, rowid: 1 },
      { month: "1970-01", time: 0, rowid: 9_007_199_254_740_991 },
      { month: "9999-12", time: 253_402_300_799, rowid: 0 },
    ]) {
      const cursor = encodeCursor(position);
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeCursor(cursor)).toEqual(position);
    }
  });
});
