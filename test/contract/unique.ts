import { beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { grouped } from "../helpers/expected";
import { seededRandom } from "../helpers/fuzz";
import type { Target, Targets } from "../helpers/target";

/**
 * Every answer checked against a count made here over the events the service
 * stored, on random ranges: ranges that cover months whole, cut them at a
 * day's edge or inside a day, and span month ends; with visitors who come
 * back across months. Events arrive in rounds, some into months already
 * queried, so the month summaries are checked as they follow their shards.
 * A second website gets the same events, but its February can have no
 * summary (the path is taken by a directory): that month is answered from
 * rows alone, beside months answered from summaries.
 */
const SEED = Number(process.env.UNIQUE_SEED ?? 7);
/** Ranges asked a round: one of each shape of rangeOfKind (the last two drawn anywhere). */
const RANGES = 10;
/** Reset where each run of the suite starts, so the seed replays it whichever tier runs it. */
let next = seededRandom(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;

const DAY = 86_400;
const FIRST = Date.UTC(2016, 0, 1) / 1000;
const END = Date.UTC(2016, 3, 1) / 1000;
const VISITORS = Array.from({ length: 80 }, (_, i) => `10.1.${i >> 4}.${i & 15}`);
const COUNTRIES = ["fr", "de", "it", "es"];

interface Stored {
  time: number;
  ip: string;
  event: string;
  platform: string;
  refererDomain: string;
  countryCode: string;
}

function randomTime(): number {
  // A third of events on a day's or a month's first or last second.
  const time = FIRST + Math.floor(next() * (END - FIRST));
  const edge = next();
  if (edge < 0.15) return time - (time % DAY);
  if (edge < 0.3) return time - (time % DAY) + DAY - 1;
  if (edge < 0.33) return pick([Date.UTC(2016, 1, 1), Date.UTC(2016, 2, 1)]) / 1000 - pick([0, 1]);
  return time;
}

function randomEvent() {
  return {
    time: randomTime(),
    ip: pick(VISITORS),
    event: pick(["view", "click", "signup"]),
    platform: pick(["Linux", "Mac", "Windows", ""]),
    refererDomain: pick(["a.example", "b.example", "c.example", ""]),
    countryCode: pick(COUNTRIES),
  };
}

function randomBound(): number {
  const time = FIRST - DAY + Math.floor(next() * (END - FIRST + 2 * DAY));
  const kind = next();
  if (kind < 0.3) return time - (time % DAY);
  if (kind < 0.45) return time - (time % DAY) - 1;
  return time;
}

const MONTH_STARTS = [0, 1, 2, 3].map((month) => Date.UTC(2016, month, 1) / 1000);

/**
 * A range of one of the shapes a query can take, by `kind`: the whole data
 * set, one bound only, whole months, whole days, a month's end crossed, the
 * inside of a day, and bounds anywhere. Each round asks every shape, at
 * random places, so a dozen ranges cover what ten times as many drawn at
 * random would, with each way a month is read (its month sets, its days'
 * sets, rows at the edges) in every round.
 */
function rangeOfKind(kind: number): { start?: number; end?: number } {
  const month = Math.floor(next() * 3);
  const dayIn = (m: number) => MONTH_STARTS[m]! + Math.floor(next() * 28) * DAY;
  const inside = (day: number) => day + Math.floor(next() * DAY);
  switch (kind % 10) {
    case 0:
      return {};
    case 1:
      return { start: randomBound() };
    case 2:
      return { end: randomBound() };
    case 3:
      return { start: MONTH_STARTS[month], end: MONTH_STARTS[month + 1]! - 1 };
    case 4:
      return { start: MONTH_STARTS[0], end: MONTH_STARTS[2]! - 1 };
    case 5: {
      const [a, b] = [dayIn(month), dayIn(month)].sort((x, y) => x - y);
      return { start: a, end: b! + DAY - 1 };
    }
    case 6:
      return {
        start: inside(MONTH_STARTS[month + 1]! - DAY * (1 + Math.floor(next() * 3))),
        end: inside(MONTH_STARTS[month + 1]! + DAY * Math.floor(next() * 3)),
      };
    case 7: {
      const day = dayIn(month);
      const [a, b] = [inside(day), inside(day)].sort((x, y) => x - y);
      return { start: a, end: b };
    }
    default: {
      const [a, b] = [randomBound(), randomBound()].sort((x, y) => x - y);
      return { start: a, end: b };
    }
  }
}

/** Unique visitors checked against a count made here, on random ranges over months answered from summaries and from rows. */
export function uniqueContract(targets: Targets) {
  let server: Target;
  let stored: Stored[] = [];

  beforeAll(async () => {
    next = seededRandom(SEED);
    server = await targets.shared();
  });

  const WEBSITES = ["unique.example", "unique-rows.example"];

  async function ingest(count: number): Promise<void> {
    const list = Array.from({ length: count }, randomEvent);
    for (const website of WEBSITES) {
      expect((await server.request(`/${website}/bulk`, { body: { list } })).status).toBe(200);
    }
    mkdirSync(join(server.root, "unique-rows.example", "2016-02", "summary.db"), { recursive: true });
    const response = await server.fetch(`/unique.example?format=ndjson`);
    stored = (await response.text())
      .trimEnd()
      .split("\n")
      .map((line) => {
        const event = JSON.parse(line);
        return { ...event, time: Date.parse(event.time) / 1000 };
      });
  }

  function inRange(range: { start?: number; end?: number }): Stored[] {
    return stored.filter(({ time }) => (range.start === undefined || time >= range.start) && (range.end === undefined || time <= range.end));
  }


  function query(range: { start?: number; end?: number }, extra = ""): string {
    const params = [range.start === undefined ? "" : `start=${range.start}`, range.end === undefined ? "" : `end=${range.end}`, extra].filter(
      Boolean,
    );
    return params.length ? `?${params.join("&")}` : "";
  }

  /** The answer of each website, which must be the same. */
  async function get(path: string): Promise<any> {
    const [first, ...others] = await Promise.all(WEBSITES.map((website) => server.request(`/${website}${path}`)));
    expect(first!.status, path).toBe(200);
    for (const other of others) expect(other.body, `${path} without a summary for one month`).toEqual(first!.body);
    return first!.body;
  }

  const PROPERTIES = { countries: "countryCode", platforms: "platform", domains: "refererDomain", events: "event" } as const;
  const INTERVALS = [3_600, DAY, 7 * DAY, 30 * DAY, 90_000];

  /** The count, one breakdown (each in turn, so every one meets every shape of range) and one series. */
  async function checkRange(range: { start?: number; end?: number }, turn: number): Promise<void> {
    const events = inRange(range);
    const everyone = grouped(events, () => "");
    expect(await get(`/count${query(range)}`)).toEqual({ total: events.length, unique: everyone.get("")?.visitors.size ?? 0 });

    const [property, field] = Object.entries(PROPERTIES)[turn % 4]!;
    const unique = next() < 0.7;
    const breakdown = `/${property}${query(range, `unique=${unique}`)}`;
    const groups: { id: string; total: number; unique: number }[] = (await get(breakdown)).list;
    const expectedGroups = grouped(events, (event) => event[field]);
    expect(Object.fromEntries(groups.map(({ id, total, unique }) => [id, { total, unique }])), breakdown).toEqual(
      Object.fromEntries(Array.from(expectedGroups, ([id, { total, visitors }]) => [id, { total, unique: unique ? visitors.size : 0 }])),
    );

    const interval = pick(INTERVALS);
    const path = `/time${query(range, `interval=${interval}&unique=true`)}`;
    const answer: { start: string; total: number; unique: number }[] = (await get(path)).list;
    const expected = grouped(events, ({ time }) => time - (time % interval));
    expect(Object.fromEntries(answer.map(({ start, total, unique }) => [Date.parse(start) / 1000, { total, unique }])), path).toEqual(
      Object.fromEntries(Array.from(expected, ([start, { total, visitors }]) => [start, { total, unique: visitors.size }])),
    );
  }

  describe(`unique visitors over random ranges (UNIQUE_SEED=${SEED})`, () => {
    // The second round writes into months the first asked about: summaries are seen to follow their shards.
    for (const [round, count] of [600, 300].entries()) {
      test(`round ${round + 1}: ${count} more events, then ${RANGES} ranges of every shape`, async () => {
        await ingest(count);
        for (let i = 0; i < RANGES; i++) await checkRange(rangeOfKind(i), round + i);
      });
    }
  });
}
