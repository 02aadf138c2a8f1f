import { describe, expect, test } from "bun:test";
import { add, bucketStarts, fromLocal, intervalFor, intervalsFor, isoSeconds, localDate, parseLocalDate, startOf } from "../../src/dashboard/time";
import { previousRange, readView, resolveRange, viewUrl } from "../../src/dashboard/view";

const at = (iso: string) => Date.parse(iso) / 1000;
const iso = (seconds: number[]) => seconds.map(isoSeconds);
const PARIS = "Europe/Paris";
const NEW_YORK = "America/New_York";

describe("calendar arithmetic in a time zone", () => {
  test("days across daylight saving are 23 and 25 hours long, and start at local midnight", () => {
    // Paris springs forward on 2025-03-30 and falls back on 2025-10-26.
    expect(iso(bucketStarts("day", at("2025-03-29T12:00:00Z"), at("2025-03-31T12:00:00Z"), PARIS))).toEqual([
      "2025-03-28T23:00:00Z",
      "2025-03-29T23:00:00Z",
      "2025-03-30T22:00:00Z",
    ]);
    expect(iso(bucketStarts("day", at("2025-10-25T12:00:00Z"), at("2025-10-27T12:00:00Z"), PARIS))).toEqual([
      "2025-10-24T22:00:00Z",
      "2025-10-25T22:00:00Z",
      "2025-10-26T23:00:00Z",
    ]);
    // New York: 2025-03-09 and 2025-11-02.
    const days = bucketStarts("day", at("2025-03-08T12:00:00Z"), at("2025-03-10T12:00:00Z"), NEW_YORK);
    expect(days.slice(1).map((t, i) => (t - days[i]!) / 3600)).toEqual([24, 23]);
  });

  test("weeks start on Monday, months on the first, years on January 1, all at local midnight", () => {
    const sunday = at("2025-10-26T12:00:00Z");
    expect(isoSeconds(startOf("week", sunday, PARIS))).toBe("2025-10-19T22:00:00Z");
    expect(isoSeconds(startOf("month", sunday, PARIS))).toBe("2025-09-30T22:00:00Z");
    expect(isoSeconds(startOf("year", sunday, PARIS))).toBe("2024-12-31T23:00:00Z");
    expect(iso(bucketStarts("month", at("2025-01-15T00:00:00Z"), at("2025-04-15T00:00:00Z"), NEW_YORK))).toEqual([
      "2025-01-01T05:00:00Z",
      "2025-02-01T05:00:00Z",
      "2025-03-01T05:00:00Z",
      "2025-04-01T04:00:00Z",
    ]);
    expect(isoSeconds(add("month", at("2025-01-01T05:00:00Z"), 12, NEW_YORK))).toBe("2026-01-01T05:00:00Z");
  });

  test("hours follow the local clock, also half an hour off UTC", () => {
    expect(isoSeconds(startOf("hour", at("2025-10-26T12:20:00Z"), "Asia/Kolkata"))).toBe("2025-10-26T11:30:00Z");
    // The repeated hour of an autumn night is two buckets.
    expect(iso(bucketStarts("hour", at("2025-10-26T00:00:00Z"), at("2025-10-26T01:59:59Z"), PARIS))).toEqual([
      "2025-10-26T00:00:00Z",
      "2025-10-26T01:00:00Z",
    ]);
  });

  test("a wall time that occurs twice is its first occurrence; a skipped midnight is when the day begins", () => {
    expect(isoSeconds(fromLocal({ year: 2025, month: 10, day: 26, hour: 2, minute: 30, second: 0 }, PARIS))).toBe("2025-10-26T00:30:00Z");
    // São Paulo's clocks went from 00:00 to 01:00 on 2018-11-04.
    expect(isoSeconds(fromLocal({ year: 2018, month: 11, day: 4, hour: 0, minute: 0, second: 0 }, "America/Sao_Paulo"))).toBe("2018-11-04T03:00:00Z");
  });

  test("local dates are read strictly and written back the same", () => {
    expect(parseLocalDate("2025-03-30", PARIS)).toBe(at("2025-03-29T23:00:00Z"));
    expect(parseLocalDate("2025-02-30", PARIS)).toBeUndefined();
    expect(parseLocalDate("30/03/2025", PARIS)).toBeUndefined();
    expect(localDate(at("2025-03-29T23:00:00Z"), PARIS)).toBe("2025-03-30");
  });

  test("the interval fits the span: hours for a day or two, days up to a quarter, weeks to a year, then months", () => {
    expect(intervalFor(86_400)).toBe("hour");
    expect(intervalFor(2 * 86_400)).toBe("hour");
    expect(intervalFor(7 * 86_400)).toBe("day");
    expect(intervalFor(92 * 86_400)).toBe("day");
    expect(intervalFor(365 * 86_400)).toBe("week");
    expect(intervalFor(3 * 365 * 86_400)).toBe("month");
    expect(intervalsFor(365 * 86_400)).toEqual(["day", "week", "month", "year"]);
    expect(intervalsFor(86_400)).toEqual(["hour", "day", "year"]);
  });
});

describe("the view in the URL", () => {
  // A Sunday afternoon in Paris, the day summer time ends.
  const now = at("2025-10-26T14:35:00Z");

  test("presets resolve in the viewer's zone, ending with the current hour", () => {
    const resolve = (preset: string) => {
      const range = resolveRange({ preset } as never, now, PARIS);
      return [range.start, range.end].map((t) => (t === undefined ? undefined : isoSeconds(t)));
    };
    expect(resolve("24h")).toEqual(["2025-10-25T15:00:00Z", "2025-10-26T14:59:59Z"]);
    expect(resolve("7d")).toEqual(["2025-10-19T22:00:00Z", "2025-10-26T14:59:59Z"]);
    expect(resolve("30d")).toEqual(["2025-09-26T22:00:00Z", "2025-10-26T14:59:59Z"]);
    expect(resolve("month")).toEqual(["2025-09-30T22:00:00Z", "2025-10-26T14:59:59Z"]);
    expect(resolve("last-month")).toEqual(["2025-08-31T22:00:00Z", "2025-09-30T21:59:59Z"]);
    expect(resolve("12m")).toEqual(["2024-10-31T23:00:00Z", "2025-10-26T14:59:59Z"]);
    expect(resolve("all")).toEqual([undefined, undefined]);
  });

  test("a custom range covers whole local days, and the previous period is as long, just before", () => {
    const range = resolveRange({ from: "2025-03-01", to: "2025-03-31" }, now, PARIS);
    expect([isoSeconds(range.start!), isoSeconds(range.end!)]).toEqual(["2025-02-28T23:00:00Z", "2025-03-31T21:59:59Z"]);
    const previous = previousRange(range)!;
    expect(previous.end).toBe(range.start! - 1);
    expect(previous.end! - previous.start!).toBe(range.end! - range.start!);
    expect(previousRange({})).toBeUndefined();
  });

  test("a URL reads into a view and writes back the same; unknown values fall back to defaults", () => {
    const url = "/_dashboard/a.example?from=2025-03-01&to=2025-03-31&interval=week&tz=Europe%2FParis&countryCode=fr&countryCode=de&path=%2Fdocs%2F*&live=1";
    const view = readView("a.example", new URL(url, "http://x").searchParams);
    expect(view).toEqual({
      website: "a.example",
      range: { from: "2025-03-01", to: "2025-03-31" },
      interval: "week",
      tz: PARIS,
      filters: [
        { name: "path", value: "/docs/*" },
        { name: "countryCode", value: "fr" },
        { name: "countryCode", value: "de" },
      ],
      live: true,
    });
    expect(readView("a.example", new URL(viewUrl(view), "http://x").searchParams)).toEqual(view);

    const odd = readView("a.example", new URLSearchParams("range=fortnight&interval=minute&tz=Mars%2FOlympus&from=2025-13-01&to=2025-01-01"));
    expect(odd.range).toEqual({ preset: "30d" });
    expect(odd.interval).toBeUndefined();
    expect(odd.tz).not.toBe("Mars/Olympus");
  });
});
