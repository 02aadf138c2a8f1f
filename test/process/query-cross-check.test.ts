import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { openApp, type TestApp } from "../helpers/app";
import { grouped } from "../helpers/expected";
import { seededRandom } from "../helpers/random";
import { TEST_MS } from "../helpers/wait";

/**
 * Every query parameter checked against answers computed here from the
 * events the service exports, on random ranges (whole months, cut at a day's
 * edge, inside a day, across month ends): counts, the five breakdowns, each
 * filter alone and combined (a value given twice, `path` prefixes), series
 * of seconds and of calendar units in UTC, Europe/Paris and America/New_York
 * across their daylight-saving changes (Europe: last Sundays of March and
 * October; the US: second Sunday of March, first of November), the event
 * list under filters, and /_websites. Events come in rounds, some into
 * months already asked about, so the summaries are checked as they follow
 * their shards. A second website gets the same events, but two of its
 * months can have no summary (the path is taken by a directory): those are
 * answered from rows alone, and every answer must be the same. In process,
 * but in this tier: its few hundred queries take seconds.
 */
setDefaultTimeout(TEST_MS);
const SEED = Number(process.env.CROSS_CHECK_SEED ?? 12);
const next = seededRandom(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
const chance = (p: number) => next() < p;

const HOUR = 3600;
const DAY = 86_400;
const FIRST = Date.UTC(2016, 1, 20) / 1000;
const END = Date.UTC(2016, 11, 10) / 1000;
/** Instants the answers are most likely to get wrong: clock changes, month ends, UTC and local midnights. */
const EDGES = [
  Date.UTC(2016, 2, 13, 7), // New York springs forward
  Date.UTC(2016, 2, 27, 1), // Paris springs forward
  Date.UTC(2016, 9, 30, 1), // Paris falls back
  Date.UTC(2016, 10, 6, 6), // New York falls back
  ...Array.from({ length: 10 }, (_, m) => Date.UTC(2016, m + 2, 1)),
].map((ms) => ms / 1000);

const VISITORS = Array.from({ length: 60 }, (_, i) => `10.2.${i >> 4}.${i & 15}`);
const VALUES = {
  event: ["view", "click", "signup", "download"],
  path: ["/", "/docs", "/docs/", "/docs/a", "/docs/b/c", "/pricing", "/blog/x", "/docs*x"],
  platform: ["Linux", "Mac OS", "Windows", ""],
  refererDomain: ["a.example", "b.example", ""],
  countryCode: ["fr", "de", "us", ""],
} as const;
type Field = keyof typeof VALUES;
const FIELDS = Object.keys(VALUES) as Field[];
const BREAKDOWNS: Record<string, Field> = { countries: "countryCode", platforms: "platform", domains: "refererDomain", events: "event", paths: "path" };
const ZONES = ["UTC", "Europe/Paris", "America/New_York"];
const UNITS = ["hour", "day", "week", "month", "year"] as const;

interface Stored extends Record<Field, string> {
  time: number;
  ip: string;
}

function randomTime(): number {
  const kind = next();
  if (kind < 0.4) return pick(EDGES) + Math.floor((next() - 0.5) * 2 * 26 * HOUR);
  const time = FIRST + Math.floor(next() * (END - FIRST));
  if (kind < 0.5) return time - (time % DAY) - pick([0, 1]);
  // Local midnights: 22:00 or 23:00 UTC in Paris, 04:00 or 05:00 in New York.
  if (kind < 0.6) return time - (time % DAY) + pick([22, 23, 4, 5]) * HOUR - pick([0, 1]);
  return time;
}

function randomEvent() {
  return {
    time: randomTime(),
    ip: pick(VISITORS),
    ...(Object.fromEntries(FIELDS.map((field) => [field, pick(VALUES[field])])) as Record<Field, string>),
  };
}

function randomBound(): number {
  const time = FIRST - DAY + Math.floor(next() * (END - FIRST + 2 * DAY));
  const kind = next();
  if (kind < 0.25) return time - (time % DAY);
  if (kind < 0.4) return time - (time % DAY) - 1;
  if (kind < 0.5) return pick(EDGES) + pick([-1, 0, 1]) * HOUR;
  return time;
}

function randomRange(): { start?: number; end?: number } {
  const kind = next();
  if (kind < 0.1) return {};
  if (kind < 0.2) return { start: randomBound() };
  if (kind < 0.3) return { end: randomBound() };
  const [a, b] = [randomBound(), randomBound()].sort((x, y) => x - y);
  return { start: a, end: b };
}

/** Random filters as query parameters, and the test of an event they stand for. */
function randomFilters(): { params: [string, string][]; passes: (event: Stored) => boolean } {
  const params: [string, string][] = [];
  const tests: ((event: Stored) => boolean)[] = [];
  const fields = FIELDS.filter(() => chance(0.25));
  for (const field of fields) {
    const given = Array.from({ length: pick([1, 1, 2]) }, () => {
      if (field === "path" && chance(0.4)) return pick(["/docs/*", "/docs*", "/*", "/blog/*", "/none/*"]);
      return chance(0.1) ? "nope" : pick(VALUES[field]);
    });
    for (const value of given) params.push([field, value]);
    tests.push((event) =>
      given.some((value) => (field === "path" && value.endsWith("*") ? event.path.startsWith(value.slice(0, -1)) : event[field] === value)),
    );
  }
  return { params, passes: (event) => tests.every((passes) => passes(event)) };
}

let app: TestApp;
let stored: Stored[] = [];
const WEBSITES = ["site.example", "rows.example"];

beforeAll(async () => {
  app = await openApp();
});
afterAll(() => app.close());

async function ingest(count: number): Promise<void> {
  const list = Array.from({ length: count }, randomEvent);
  for (const website of WEBSITES) {
    expect((await app.request(`/${website}/bulk`, { body: { list } })).status).toBe(200);
  }
  for (const month of ["2016-03", "2016-10"]) mkdirSync(join(app.root, "rows.example", month, "summary.db"), { recursive: true });
  stored = await exported("site.example", "");
}

async function exported(website: string, query: string): Promise<Stored[]> {
  const response = await app.fetch(`/${website}?format=ndjson${query}`);
  expect(response.status).toBe(200);
  const text = (await response.text()).trimEnd();
  if (text === "") return [];
  return text.split("\n").map((line) => {
    const event = JSON.parse(line);
    return { ...event, time: Date.parse(event.time) / 1000 };
  });
}

function query(range: { start?: number; end?: number }, params: [string, string][] = []): string {
  const all: [string, string][] = [];
  if (range.start !== undefined) all.push(["start", String(range.start)]);
  if (range.end !== undefined) all.push(["end", String(range.end)]);
  const text = new URLSearchParams([...all, ...params]).toString();
  return text ? `?${text}` : "";
}

/** The answer of each website, which must be the same. */
async function get(path: string): Promise<any> {
  const [first, ...others] = await Promise.all(WEBSITES.map((website) => app.request(`/${website}${path}`)));
  expect(first!.status, `${path}: ${JSON.stringify(first!.body)}`).toBe(200);
  for (const other of others) expect(other.body, `${path} without a summary for two months`).toEqual(first!.body);
  return first!.body;
}


const expectedOf = (groups: ReturnType<typeof grouped>, unique: boolean) =>
  Object.fromEntries(Array.from(groups, ([key, { total, visitors }]) => [key, { total, unique: unique ? visitors.size : 0 }]));

/** A local calendar unit's key of an instant, from its wall-clock date and time in `zone`. */
const formats = new Map<string, Intl.DateTimeFormat>();
function localKey(unit: (typeof UNITS)[number], zone: string, time: number): string {
  let format = formats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-CA", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit" });
    formats.set(zone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(time * 1000).map(({ type, value }) => [type, value]));
  const date = `${parts.year}-${parts.month}-${parts.day}`;
  switch (unit) {
    case "hour":
      return `${date} ${parts.hour}`;
    case "day":
      return date;
    case "week": {
      const day = Date.UTC(+parts.year!, +parts.month! - 1, +parts.day!) / 1000 / DAY;
      const monday = day - ((((day - 4) % 7) + 7) % 7);
      return `week of ${new Date(monday * DAY * 1000).toISOString().slice(0, 10)}`;
    }
    case "month":
      return date.slice(0, 7);
    case "year":
      return date.slice(0, 4);
  }
}

/**
 * Checks one range; the `index`th of a round picks its breakdown, calendar
 * unit and zone, so that RANGES of them cover every breakdown and every unit
 * in every zone (5 units and 3 zones: 15 ranges meet all 15 pairs).
 */
async function checkRange(range: { start?: number; end?: number }, index: number): Promise<void> {
  const inRange = stored.filter(({ time }) => (range.start === undefined || time >= range.start) && (range.end === undefined || time <= range.end));

  // The count, filtered or not.
  const countFilter = randomFilters();
  const counted = inRange.filter(countFilter.passes);
  const countPath = `/count${query(range, countFilter.params)}`;
  expect(await get(countPath), countPath).toEqual({ total: counted.length, unique: new Set(counted.map((e) => e.ip)).size });

  // One breakdown, maybe filtered (by its own dimension too).
  const [route, field] = Object.entries(BREAKDOWNS)[index % 5]!;
  const filter = randomFilters();
  const unique = chance(0.7);
  const breakdownPath = `/${route}${query(range, [...filter.params, ["unique", String(unique)]])}`;
  const list: { id: string; total: number; unique: number }[] = (await get(breakdownPath)).list;
  expect(Object.fromEntries(list.map(({ id, total, unique }) => [id, { total, unique }])), breakdownPath).toEqual(
    expectedOf(grouped(inRange.filter(filter.passes), (event) => event[field]), unique),
  );
  // Sorted by total, then id.
  expect(list.map(({ id }) => id), breakdownPath).toEqual(
    [...list].sort((a, b) => b.total - a.total || (a.id < b.id ? -1 : 1)).map(({ id }) => id),
  );
  // Its first rows alone (their visitors are then united apart from the other rows').
  const limit = 1 + Math.floor(next() * (list.length + 2));
  const limitedPath = `/${route}${query(range, [...filter.params, ["unique", String(unique)], ["limit", String(limit)]])}`;
  expect((await get(limitedPath)).list, limitedPath).toEqual(list.slice(0, limit));

  // A series of seconds from the epoch.
  const seconds = pick([HOUR, DAY, 7 * DAY, 30 * DAY, 90_000, 1_000_003]);
  const secondsFilter = chance(0.5) ? randomFilters() : { params: [], passes: () => true };
  const secondsPath = `/time${query(range, [...secondsFilter.params, ["interval", String(seconds)], ["unique", "true"]])}`;
  const buckets: { start: string; end: string; total: number; unique: number }[] = (await get(secondsPath)).list;
  for (const { start, end } of buckets) expect(Date.parse(end) - Date.parse(start), secondsPath).toBe(seconds * 1000);
  expect(Object.fromEntries(buckets.map(({ start, total, unique }) => [Date.parse(start) / 1000, { total, unique }])), secondsPath).toEqual(
    expectedOf(grouped(inRange.filter(secondsFilter.passes), ({ time }) => time - (time % seconds)), true),
  );

  // A series of a local calendar.
  const unit = UNITS[index % UNITS.length]!;
  const zone = ZONES[index % ZONES.length]!;
  const calendarFilter = chance(0.5) ? randomFilters() : { params: [], passes: () => true };
  const calendarUnique = chance(0.8);
  const calendarPath = `/time${query(range, [...calendarFilter.params, ["interval", unit], ["tz", zone], ["unique", String(calendarUnique)]])}`;
  const local: { start: string; end: string; total: number; unique: number }[] = (await get(calendarPath)).list;
  for (const { start, end } of local) {
    const [from, to] = [Date.parse(start) / 1000, Date.parse(end) / 1000];
    // Each bucket is the whole local unit: from its first second to the first of the next.
    const key = localKey(unit, zone, from);
    expect([localKey(unit, zone, from - 1) !== key, localKey(unit, zone, to - 1), localKey(unit, zone, to) !== key], `${calendarPath}: ${start}`).toEqual([
      true,
      key,
      true,
    ]);
  }
  expect(
    Object.fromEntries(local.map(({ start, total, unique }) => [localKey(unit, zone, Date.parse(start) / 1000), { total, unique }])),
    calendarPath,
  ).toEqual(expectedOf(grouped(inRange.filter(calendarFilter.passes), ({ time }) => localKey(unit, zone, time)), calendarUnique));
  expect(local.map(({ start }) => start), calendarPath).toEqual(local.map(({ start }) => start).sort());

  // Now and then, the event list under filters.
  if (chance(0.3)) {
    const listFilter = randomFilters();
    const listQuery = query(range, listFilter.params).replace("?", "&");
    for (const website of WEBSITES) {
      expect(await exported(website, listQuery), `/${website}?format=ndjson${listQuery}`).toEqual(inRange.filter(listFilter.passes));
    }
  }
}

/**
 * Two rounds: the second writes into months the first asked about, so the
 * summaries are seen to follow their shards (a third round would check the
 * same again). RANGES a round meet every breakdown and every unit in every
 * zone once; the ranges, filters and events are random.
 */
const ROUNDS = [700, 300];
const RANGES = 15;

describe(`every parameter over random ranges (CROSS_CHECK_SEED=${SEED})`, () => {
  for (const [round, count] of ROUNDS.entries()) {
    test(`round ${round + 1}: ${count} more events, then ${RANGES} random ranges`, async () => {
      await ingest(count);
      for (let i = 0; i < RANGES; i++) await checkRange(randomRange(), i);
    }, 60_000);
  }

  test("/_websites says what the summaries know", async () => {
    const { list } = (await app.request("/_websites")).body;
    const times = stored.map(({ time }) => time);
    const formatted = (time: number) => new Date(time * 1000).toISOString().slice(0, 19) + "Z";
    for (const website of WEBSITES) {
      expect(list.find((entry: { website: string }) => entry.website === website)).toEqual({
        website,
        firstTime: formatted(Math.min(...times)),
        lastTime: formatted(Math.max(...times)),
        events: stored.length,
        bytes: expect.any(Number),
      });
    }
  });
});
