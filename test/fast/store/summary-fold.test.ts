import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Database } from "bun:sqlite";
import { copyFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DIMENSION_NAMES, DIMENSIONS, type Dimension } from "../../../src/store/dimensions";
import { Shard } from "../../../src/store/shard";
import { MonthSummary } from "../../../src/store/summary";
import { ALL_EVENTS, DAY } from "../../../src/store/summary-format";
import type { Visit } from "../../../src/store/visit";
import { cleanup, scratch } from "../../helpers/cleanup";
import { seededRandom } from "../../helpers/fuzz";
import { TEST_MS } from "../../helpers/wait";

afterAll(cleanup);
setDefaultTimeout(TEST_MS);

const NOVEMBER = Date.UTC(2015, 10, 1) / 1000;
/** Every set a summary keeps: all events, then each dimension's. */
const SETS: readonly (Dimension | typeof ALL_EVENTS)[] = [ALL_EVENTS, ...DIMENSION_NAMES];

function randomVisits(count: number, random: () => number): Visit[] {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  return Array.from({ length: count }, () => ({
    time: NOVEMBER + Math.floor(random() * 30 * DAY),
    event: pick(["view", "click", ""]),
    path: pick(["/", "/docs", "/docs/a"]),
    ip: `10.0.0.${Math.floor(random() * 60)}`,
    platform: pick(["Linux", "Windows", ""]),
    refererDomain: pick(["a.example", "b.example"]),
    countryCode: pick(["fr", "de", "it"]),
  }));
}

/** A month shard holding `visits`, written the service's way. */
function shardWith(visits: Visit[]): string {
  const path = join(scratch(), "site.example", "2015-11", "analytics.db");
  append(path, visits);
  return path;
}

function append(path: string, visits: Visit[]): void {
  const shard = Shard.open(path, true, "normal");
  shard.insert([visits]);
  shard.close();
}

/** What a summary must hold, counted here from the rows: per dimension value, events and distinct ips. */
function expected(visits: Visit[], dim: Dimension | typeof ALL_EVENTS, day?: number) {
  const groups = new Map<string, { hits: number; ips: Set<string> }>();
  for (const visit of visits) {
    if (day !== undefined && Math.floor(visit.time / DAY) * DAY !== day) continue;
    const value = dim === ALL_EVENTS ? "" : visit[dim];
    const group = groups.get(value) ?? { hits: 0, ips: new Set() };
    group.hits++;
    group.ips.add(visit.ip);
    groups.set(value, group);
  }
  return Object.fromEntries(Array.from(groups, ([value, { hits, ips }]) => [value, { hits, unique: ips.size }]));
}

/** The summary's month sets of one dimension, with their ids checked to be sorted and without repeats. */
function monthSets(summary: MonthSummary, dim: Dimension | typeof ALL_EVENTS) {
  return Object.fromEntries(
    summary.monthSets(dim, true).map(({ value, hits, ids }) => {
      expect(Array.from(ids!)).toEqual([...new Set(ids!)].sort((a, b) => a - b));
      return [value, { hits, unique: ids!.length }];
    }),
  );
}

describe("folding a shard into its month summary", () => {
  test("month and day sets hold each value's events and distinct visitors, for every dimension", () => {
    const visits = randomVisits(2_000, seededRandom(3));
    const summary = MonthSummary.open(shardWith(visits));
    try {
      expect(summary.caughtUp).toBe(true);
      for (const dim of SETS) {
        expect({ dim, sets: monthSets(summary, dim) }).toEqual({ dim, sets: expected(visits, dim) });
        const day = NOVEMBER + 7 * DAY;
        const days = summary.daySets(dim, day, day, false);
        expect(Object.fromEntries(days.map(({ value, hits }) => [value, hits]))).toEqual(
          Object.fromEntries(Object.entries(expected(visits, dim, day)).map(([value, { hits }]) => [value, hits])),
        );
      }
      // Each ip has one id for the month, below the bound.
      const { bytes, starts } = summary.visitors(1);
      const ips = Array.from(starts.subarray(1), (end, i) => new TextDecoder().decode(bytes.subarray(starts[i], end - 1)));
      expect(new Set(ips).size).toBe(new Set(visits.map((v) => v.ip)).size);
      expect(ips.length).toBe(summary.idBound() - 1);
      expect(summary.idBound()).toBeGreaterThan(Math.max(...summary.monthSets(ALL_EVENTS, true)[0]!.ids!));
    } finally {
      summary.close();
    }
  });

  test("the dimension table: each breakdown reads its own column", () => {
    const visits = [{ time: NOVEMBER, event: "e1", path: "/", ip: "10.0.0.1", platform: "p1", refererDomain: "r1", countryCode: "c1" }];
    const summary = MonthSummary.open(shardWith(visits));
    try {
      expect(
        Object.fromEntries(DIMENSIONS.map(({ name, breakdown }) => [breakdown, summary.monthSets(name, false).map((set) => set.value)])),
      ).toEqual({
        countries: ["c1"],
        platforms: ["p1"],
        domains: ["r1"],
        events: ["e1"],
        paths: ["/"],
      });
    } finally {
      summary.close();
    }
  });

  test("rows appended later are folded in at the next open, without counting the earlier ones twice", () => {
    const random = seededRandom(5);
    const first = randomVisits(500, random);
    const path = shardWith(first);
    MonthSummary.open(path).close();
    const later = randomVisits(300, random);
    append(path, later);
    const summary = MonthSummary.open(path);
    try {
      for (const dim of SETS) expect(monthSets(summary, dim)).toEqual(expected([...first, ...later], dim));
    } finally {
      summary.close();
    }
  });

  test("a build in steps of maxRows says when it has caught up, and ends with what one build gives", () => {
    const visits = randomVisits(1_000, seededRandom(9));
    const path = shardWith(visits);
    const steps: boolean[] = [];
    for (let caughtUp = false; !caughtUp;) {
      const summary = MonthSummary.open(path, { maxRows: 300 });
      caughtUp = summary.caughtUp;
      steps.push(caughtUp);
      summary.close();
    }
    expect(steps).toEqual([false, false, false, true]);
    const summary = MonthSummary.open(path);
    try {
      expect(monthSets(summary, "countryCode")).toEqual(expected(visits, "countryCode"));
    } finally {
      summary.close();
    }
  });

  test("a summary made from another file at the shard's path is built again", () => {
    const random = seededRandom(13);
    const path = shardWith(randomVisits(200, random));
    const earlier = `${path}.earlier`;
    copyFileSync(path, earlier);
    append(path, randomVisits(100, random));
    MonthSummary.open(path).close();
    // The earlier file put back (a restore): fewer rows than the summary has folded. Moved
    // over the shard, so that it is a new file while the old one still holds its inode.
    for (const suffix of ["-wal", "-shm"]) rmSync(path + suffix, { force: true });
    renameSync(earlier, path);
    const db = new Database(path, { readonly: true });
    const rows = db.query<Visit, []>("SELECT * FROM visits").all();
    db.close();
    const summary = MonthSummary.open(path);
    try {
      expect(monthSets(summary, ALL_EVENTS)).toEqual(expected(rows, ALL_EVENTS));
    } finally {
      summary.close();
    }
  });
});
