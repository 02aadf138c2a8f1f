import { describe, expect, test } from "bun:test";
import { AppError } from "../../src/errors";
import { formatTime, MAX_TIME, monthOf, parseTime } from "../../src/time";

const NOV_24 = Date.UTC(2015, 10, 24, 12, 0, 0) / 1000;

describe("parseTime", () => {
  test.each([
    ["RFC 3339 with Z", "2015-11-24T12:00:00Z", NOV_24],
    ["RFC 3339 with a lower-case z and t", "2015-11-24t12:00:00z", NOV_24],
    ["RFC 3339 with a space for the T", "2015-11-24 12:00:00Z", NOV_24],
    ["RFC 3339 with milliseconds (dropped)", "2015-11-24T12:00:00.999Z", NOV_24],
    ["RFC 3339 with a positive offset", "2015-11-24T14:00:00+02:00", NOV_24],
    ["RFC 3339 with a negative offset", "2015-11-24T07:00:00-05:00", NOV_24],
    ["RFC 1123 in GMT", "Tue, 24 Nov 2015 12:00:00 GMT", NOV_24],
    ["RFC 1123 with a numeric zone", "Tue, 24 Nov 2015 13:30:00 +0130", NOV_24],
    ["RFC 1123 with a one-digit day", "Sun, 1 Nov 2015 00:00:00 UTC", Date.UTC(2015, 10, 1) / 1000],
    ["Unix seconds as a string", "1448366400", NOV_24],
    ["Unix seconds as a number", 1448366400, NOV_24],
    ["the epoch", "1970-01-01T00:00:00Z", 0],
    ["the last second of year 9999", "9999-12-31T23:59:59Z", MAX_TIME],
    ["29 February of a leap year", "2016-02-29T00:00:00Z", Date.UTC(2016, 1, 29) / 1000],
  ])("reads %s", (_what, value, seconds) => {
    expect(parseTime(value, "time")).toBe(seconds);
  });

  test.each([
    ["a word", "yesterday"],
    ["now", "now"],
    ["an empty string", ""],
    ["a date without a time", "2015-11-24"],
    ["a time without a zone", "2015-11-24T12:00:00"],
    ["a day that does not exist", "2015-11-31T12:00:00Z"],
    ["29 February of a common year", "2015-02-29T00:00:00Z"],
    ["month 13", "2015-13-01T00:00:00Z"],
    ["hour 24", "2015-11-24T24:00:00Z"],
    ["minute 60", "2015-11-24T12:60:00Z"],
    ["an offset of 24 hours", "2015-11-24T12:00:00+24:00"],
    ["RFC 1123 without a zone", "Tue, 24 Nov 2015 12:00:00"],
    ["RFC 1123 on day 32", "Tue, 32 Nov 2015 12:00:00 GMT"],
    ["a fractional number", 1448366400.5],
    ["a fractional string", "1448366400.5"],
    ["a number too large to be exact", Number.MAX_SAFE_INTEGER + 2],
    ["a string with spaces around", " 1448366400"],
    ["hexadecimal", "0x10"],
    ["scientific notation", "1e3"],
    ["Arabic-Indic digits", "٣١٤"],
    ["a trailing NUL", "2015-11-24T12:00:00Z\u0000"],
    ["a boolean", true],
    ["null", null],
    ["an array", ["2015-11-24T12:00:00Z"]],
    ["an object", { time: "2015-11-24T12:00:00Z" }],
  ])("refuses %s with InvalidTimeFormat naming the field, never now", (_what, value) => {
    expect(() => parseTime(value, "list[3].time")).toThrow(AppError);
    try {
      parseTime(value, "list[3].time");
    } catch (error) {
      expect((error as AppError).code).toBe("InvalidTimeFormat");
      expect((error as AppError).message).toStartWith("list[3].time: ");
    }
  });

  test.each([
    ["before the epoch", "1969-12-31T23:59:59Z"],
    ["a negative Unix time", "-1"],
    ["year 0", "0000-01-01T00:00:00Z"],
    ["a year before 100, which Date.UTC would take for 19xx", "0099-12-31T23:59:59Z"],
    ["a Unix time after year 9999", "253402300800"],
    ["year 10000", "10000-01-01T00:00:00Z"],
  ])("refuses a time %s", (_what, value) => {
    expect(() => parseTime(value, "start")).toThrow(/^start: /);
  });
});

describe("formatTime and monthOf", () => {
  test("write RFC 3339 UTC to the second, and the UTC month a shard is named by", () => {
    expect(formatTime(NOV_24)).toBe("2015-11-24T12:00:00Z");
    expect(formatTime(0)).toBe("1970-01-01T00:00:00Z");
    expect(monthOf(Date.UTC(2015, 9, 31, 23, 59, 59) / 1000)).toBe("2015-10");
    expect(monthOf(Date.UTC(2015, 10, 1) / 1000)).toBe("2015-11");
  });

  test("round-trip through parseTime", () => {
    for (const seconds of [0, NOV_24, MAX_TIME, 951_782_400]) expect(parseTime(formatTime(seconds), "t")).toBe(seconds);
  });
});
