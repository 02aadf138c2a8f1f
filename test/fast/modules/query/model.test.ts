import { describe, expect, test } from "bun:test";
import { AppError } from "../../../../src/errors";
import { decodeCursor, encodeCursor } from "../../../../src/modules/query/export";
import { MAX_PAGE, parseExport, parseInterval, parseProperty, parseRange, parseUnique } from "../../../../src/modules/query/model";

function codeOf(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  return "accepted";
}

describe("the range", () => {
  test("start and end are optional and inclusive, in any accepted form", () => {
    expect(parseRange({})).toEqual({ start: undefined, end: undefined });
    expect(parseRange({ start: "2015-11-24T12:00:00Z" })).toEqual({ start: 1_448_366_400, end: undefined });
    expect(parseRange({ start: "1448366400", end: "Tue, 24 Nov 2015 12:00:00 GMT" })).toEqual({ start: 1_448_366_400, end: 1_448_366_400 });
  });

  test("an offset's + that a URL turned into a space is read as +", () => {
    expect(parseRange({ start: "2015-11-24T14:00:00 02:00" }).start).toBe(1_448_366_400);
  });

  test("end before start is InvalidTimeRange; a bad time InvalidTimeFormat; a repeated one InvalidParameter", () => {
    expect(codeOf(() => parseRange({ start: "1448366401", end: "1448366400" }))).toBe("InvalidTimeRange");
    expect(codeOf(() => parseRange({ end: "yesterday" }))).toBe("InvalidTimeFormat");
    expect(codeOf(() => parseRange({ start: "" }))).toBe("InvalidTimeFormat");
    expect(codeOf(() => parseRange({ start: ["1", "2"] }))).toBe("InvalidParameter");
  });
});

describe("unique, interval and property", () => {
  test("unique is true for true or 1, false when absent, empty, false or 0, else refused", () => {
    for (const value of ["true", "1"]) expect(parseUnique({ unique: value })).toBe(true);
    for (const value of [undefined, "", "false", "0"]) expect(parseUnique({ unique: value })).toBe(false);
    expect(codeOf(() => parseUnique({ unique: "maybe" }))).toBe("InvalidParameter");
  });

  test("interval is a positive whole number of seconds, a day by default", () => {
    expect(parseInterval({})).toBe(86_400);
    expect(parseInterval({ interval: "3600" })).toBe(3600);
    for (const interval of ["0", "-5", "1.5", "abc", "", "1e3", "9999999999999"]) {
      expect({ interval, code: codeOf(() => parseInterval({ interval })) }).toEqual({ interval, code: "InvalidInterval" });
    }
  });

  test("the properties are the four breakdowns; anything else is InvalidProperty", () => {
    for (const property of ["countries", "platforms", "domains", "events"] as const) expect(parseProperty(property)).toBe(property);
    for (const property of ["foo", "COUNT", "countries.json", "__proto__", "constructor", "hasOwnProperty"] as string[]) {
      expect({ property, code: codeOf(() => parseProperty(property)) }).toEqual({ property, code: "InvalidProperty" });
    }
  });
});

describe("format and paging", () => {
  test("json by default; ndjson and csv; a limit from 1 to the page size, and a cursor only with a limit", () => {
    expect(parseExport({})).toEqual({ format: "json", limit: undefined, after: undefined });
    expect(parseExport({ format: "csv", limit: String(MAX_PAGE) })).toEqual({ format: "csv", limit: MAX_PAGE, after: undefined });
    const cursor = encodeCursor({ month: "2015-11", time: 1_448_366_400, rowid: 7 });
    expect(parseExport({ format: "ndjson", limit: "10", cursor })).toEqual({
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
  ])("%s is InvalidParameter", (_what, query) => {
    expect(codeOf(() => parseExport(query))).toBe("InvalidParameter");
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
