import { describe, expect, test } from "bun:test";
import { bucketStarts, type CalendarUnit, TimeZone } from "../../src/modules/query/calendar";

const at = (iso: string) => Date.parse(iso) / 1000;
const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
/** The buckets of `unit` in `zone` that hold `from` to `to`, as [start, end) pairs in RFC 3339 UTC. */
function buckets(unit: CalendarUnit, zone: string, from: string, to: string): [string, string][] {
  const starts = bucketStarts(unit, TimeZone.named(zone), at(from), at(to));
  return starts.slice(0, -1).map((start, i) => [iso(start), iso(starts[i + 1]!)]);
}

describe("time zones", () => {
  test("an unknown zone is a 400 InvalidTimeZone", () => {
    expect(() => TimeZone.named("Mars/Olympus_Mons")).toThrow(expect.objectContaining({ code: "InvalidTimeZone", status: 400 }));
    expect(() => TimeZone.named("")).toThrow(expect.objectContaining({ code: "InvalidTimeZone" }));
  });

  test("names are as the IANA database spells them, whatever the case asked", () => {
    expect(TimeZone.named("europe/paris").name).toBe("Europe/Paris");
    expect(TimeZone.named("UTC").name).toBe("UTC");
  });

  test("offsets change at the second the clocks do", () => {
    const paris = TimeZone.named("Europe/Paris");
    expect([paris.offsetAt(at("2016-03-27T00:59:59Z")), paris.offsetAt(at("2016-03-27T01:00:00Z"))]).toEqual([3600, 7200]);
    expect([paris.offsetAt(at("2016-10-30T00:59:59Z")), paris.offsetAt(at("2016-10-30T01:00:00Z"))]).toEqual([7200, 3600]);
    const kathmandu = TimeZone.named("Asia/Kathmandu");
    expect(kathmandu.offsetAt(at("2016-06-01T00:00:00Z"))).toBe(5 * 3600 + 45 * 60);
  });
});

describe("calendar buckets", () => {
  test("a day starts at local midnight, and lasts 23 or 25 hours when the clocks change in it", () => {
    expect(buckets("day", "Europe/Paris", "2016-03-26T12:00:00Z", "2016-03-27T12:00:00Z")).toEqual([
      ["2016-03-25T23:00:00Z", "2016-03-26T23:00:00Z"],
      ["2016-03-26T23:00:00Z", "2016-03-27T22:00:00Z"],
    ]);
    expect(buckets("day", "Europe/Paris", "2016-10-30T12:00:00Z", "2016-10-30T12:00:00Z")).toEqual([["2016-10-29T22:00:00Z", "2016-10-30T23:00:00Z"]]);
    // The US changes on other Sundays: the second of March, the first of November.
    expect(buckets("day", "America/New_York", "2016-03-13T12:00:00Z", "2016-03-13T12:00:00Z")).toEqual([["2016-03-13T05:00:00Z", "2016-03-14T04:00:00Z"]]);
    expect(buckets("day", "America/New_York", "2016-11-06T12:00:00Z", "2016-11-06T12:00:00Z")).toEqual([["2016-11-06T04:00:00Z", "2016-11-07T05:00:00Z"]]);
  });

  test("weeks start on Monday at local midnight", () => {
    // 2016-03-28 is a Monday; the week before holds Paris's change of clocks.
    expect(buckets("week", "Europe/Paris", "2016-03-27T12:00:00Z", "2016-03-28T12:00:00Z")).toEqual([
      ["2016-03-20T23:00:00Z", "2016-03-27T22:00:00Z"],
      ["2016-03-27T22:00:00Z", "2016-04-03T22:00:00Z"],
    ]);
    expect(buckets("week", "UTC", "2016-01-01T00:00:00Z", "2016-01-01T00:00:00Z")).toEqual([["2015-12-28T00:00:00Z", "2016-01-04T00:00:00Z"]]);
  });

  test("months and years have their true length", () => {
    expect(buckets("month", "Europe/Paris", "2016-02-15T00:00:00Z", "2016-03-15T00:00:00Z")).toEqual([
      ["2016-01-31T23:00:00Z", "2016-02-29T23:00:00Z"],
      ["2016-02-29T23:00:00Z", "2016-03-31T22:00:00Z"],
    ]);
    expect(buckets("year", "America/New_York", "2016-06-01T00:00:00Z", "2016-06-01T00:00:00Z")).toEqual([["2016-01-01T05:00:00Z", "2017-01-01T05:00:00Z"]]);
    expect(buckets("month", "UTC", "2016-02-01T00:00:00Z", "2016-02-29T23:59:59Z")).toEqual([["2016-02-01T00:00:00Z", "2016-03-01T00:00:00Z"]]);
  });

  test("the hour that is repeated when the clocks go back is one bucket of two hours; the one skipped is none", () => {
    expect(buckets("hour", "Europe/Paris", "2016-10-29T23:30:00Z", "2016-10-30T02:30:00Z")).toEqual([
      ["2016-10-29T23:00:00Z", "2016-10-30T00:00:00Z"],
      ["2016-10-30T00:00:00Z", "2016-10-30T02:00:00Z"],
      ["2016-10-30T02:00:00Z", "2016-10-30T03:00:00Z"],
    ]);
    expect(buckets("hour", "Europe/Paris", "2016-03-27T00:30:00Z", "2016-03-27T01:30:00Z")).toEqual([
      ["2016-03-27T00:00:00Z", "2016-03-27T01:00:00Z"],
      ["2016-03-27T01:00:00Z", "2016-03-27T02:00:00Z"],
    ]);
  });

  test("hours of a zone a quarter of an hour off UTC start at a quarter past", () => {
    expect(buckets("hour", "Asia/Kathmandu", "2016-06-01T00:00:00Z", "2016-06-01T00:20:00Z")).toEqual([
      ["2016-05-31T23:15:00Z", "2016-06-01T00:15:00Z"],
      ["2016-06-01T00:15:00Z", "2016-06-01T01:15:00Z"],
    ]);
  });

  test("a day whose midnight the clocks skip starts at the first instant it has", () => {
    // Cuba moved its clocks from 00:00 to 01:00 on 2016-03-13.
    expect(buckets("day", "America/Havana", "2016-03-13T12:00:00Z", "2016-03-13T12:00:00Z")).toEqual([["2016-03-13T05:00:00Z", "2016-03-14T04:00:00Z"]]);
  });

  test("half an hour of daylight saving (Lord Howe Island) moves day boundaries by half an hour", () => {
    expect(buckets("day", "Australia/Lord_Howe", "2016-10-02T12:00:00Z", "2016-10-02T12:00:00Z")).toEqual([["2016-10-01T13:30:00Z", "2016-10-02T13:00:00Z"]]);
  });

  test("in UTC, a day is 86,400 seconds from midnight", () => {
    const starts = bucketStarts("day", TimeZone.named("UTC"), at("2016-01-01T10:00:00Z"), at("2016-12-31T10:00:00Z"));
    expect(starts).toHaveLength(367);
    expect(starts.every((start, i) => start === at("2016-01-01T00:00:00Z") + i * 86_400)).toBe(true);
  });
});
