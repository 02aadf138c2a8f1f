import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { VisitorSpaces, WebsiteVisitors } from "../../../../src/modules/query/website-visitors";
import { monthBounds } from "../../../../src/store/layout";
import { ShardColumns } from "../../../../src/store/month-columns";
import { Shard } from "../../../../src/store/shard";
import { ShardReader } from "../../../../src/store/shard-reader";
import { MonthSummary, removeSummary } from "../../../../src/store/summary";
import { TransientShards } from "../../../../src/store/shard-source";
import { cleanup, scratch } from "../../../helpers/cleanup";
import { TEST_MS } from "../../../helpers/wait";

afterAll(cleanup);
setDefaultTimeout(TEST_MS);

/**
 * The query worker's table of a website's visitors, read from real month
 * summaries: one website id per ip whatever the month, a month's
 * translation extended as it gains visitors, made again when its summary is
 * built again, and what is kept bounded.
 */
const SITE = "site.example";

function writeMonth(root: string, month: string, ips: string[]): string {
  const path = join(root, SITE, month, "analytics.db");
  const shard = Shard.open(path, true, "normal");
  const { first } = monthBounds(month);
  shard.insert([ips.map((ip, i) => ({ time: first + i, event: "view", path: "/", ip, platform: "", refererDomain: "", countryCode: "" }))]);
  shard.close();
  return path;
}

/** The website id of each ip of a month, through its summary. */
function translate(space: WebsiteVisitors, root: string, month: string): Map<string, number> {
  const summary = MonthSummary.open(join(root, SITE, month, "analytics.db"));
  try {
    const ids = space.ofSummary(month, summary.generation, summary);
    return new Map(ipsOf(summary, 1).map((ip, i) => [ip, ids[i + 1]!]));
  } finally {
    summary.close();
  }
}

function ipsOf(columns: { visitors(from: number): { bytes: Uint8Array; starts: Uint32Array } }, from: number): string[] {
  const { bytes, starts } = columns.visitors(from);
  return Array.from(starts.subarray(1), (end, i) => new TextDecoder().decode(bytes.subarray(starts[i], end - 1)));
}

describe("a website's visitors", () => {
  test("an ip has one website id in every month, and two ips never share one", () => {
    const root = scratch();
    writeMonth(root, "2016-01", ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
    writeMonth(root, "2016-02", ["10.0.0.3", "10.0.0.4", "10.0.0.1"]);
    const space = new WebsiteVisitors();
    const january = translate(space, root, "2016-01");
    const february = translate(space, root, "2016-02");
    expect(february.get("10.0.0.1")).toBe(january.get("10.0.0.1")!);
    expect(february.get("10.0.0.3")).toBe(january.get("10.0.0.3")!);
    const all = new Set([...january.values(), ...february.values()]);
    expect(all.size).toBe(4);
    expect(space.size).toBe(4);
    expect(Math.max(...all)).toBe(3);
  });

  test("a month that gains visitors has them added; those it had keep their ids", () => {
    const root = scratch();
    const path = writeMonth(root, "2016-01", ["10.0.0.1", "10.0.0.2"]);
    const space = new WebsiteVisitors();
    const before = translate(space, root, "2016-01");
    const shard = Shard.open(path, false, "normal");
    shard.insert([[{ time: monthBounds("2016-01").first + 99, event: "view", path: "/", ip: "10.0.0.9", platform: "", refererDomain: "", countryCode: "" }]]);
    shard.close();
    const after = translate(space, root, "2016-01");
    expect(after.get("10.0.0.1")).toBe(before.get("10.0.0.1")!);
    expect(after.get("10.0.0.2")).toBe(before.get("10.0.0.2")!);
    expect(after.get("10.0.0.9")).toBe(2);
    expect(space.stale).toBe(false);
  });

  test("a summary built again numbers its visitors anew: the month is translated again, and the space is stale", () => {
    const root = scratch();
    const path = writeMonth(root, "2016-01", ["10.0.0.1", "10.0.0.2"]);
    writeMonth(root, "2016-02", ["10.0.0.2"]);
    const space = new WebsiteVisitors();
    translate(space, root, "2016-01");
    const february = translate(space, root, "2016-02");
    // The shard written again with its visitors in another order, as a backup copied over it would be.
    removeSummary(path);
    rmSync(path);
    writeMonth(root, "2016-01", ["10.0.0.2", "10.0.0.5"]);
    const january = translate(space, root, "2016-01");
    expect(space.stale).toBe(true);
    expect(january.get("10.0.0.2")).toBe(february.get("10.0.0.2")!);
    expect(january.get("10.0.0.5")).not.toBe(january.get("10.0.0.2")!);
  });

  test("ips are told apart by every byte: a NUL inside one, letters beyond ASCII", () => {
    const root = scratch();
    const ips = ["a\0b", "a", "b", "ab", "é", "e", "𝔁", ""];
    writeMonth(root, "2016-01", ips);
    writeMonth(root, "2016-02", [...ips].reverse());
    const space = new WebsiteVisitors();
    const january = translate(space, root, "2016-01");
    const february = translate(space, root, "2016-02");
    expect([...january.keys()].sort()).toEqual([...ips].sort());
    expect(new Set(january.values()).size).toBe(ips.length);
    for (const ip of ips) expect(february.get(ip)).toBe(january.get(ip)!);
  });

  test("a month read from its rows alone is translated into the same space, and nothing of it is kept", () => {
    const root = scratch();
    writeMonth(root, "2016-01", ["10.0.0.1", "10.0.0.2"]);
    const path = writeMonth(root, "2016-02", ["10.0.0.2", "10.0.0.3"]);
    const space = new WebsiteVisitors();
    const january = translate(space, root, "2016-01");
    const shard = ShardReader.open(path);
    try {
      const month = monthBounds("2016-02");
      const columns = new ShardColumns(shard, month, month);
      const ids = space.ofRows(columns);
      const byIp = new Map(ipsOf(columns, 0).map((ip, i) => [ip, ids[i]!]));
      expect(byIp.get("10.0.0.2")).toBe(january.get("10.0.0.2")!);
      expect(byIp.get("10.0.0.3")).toBe(2);
      expect(space.monthNames()).toEqual(["2016-01"]);
    } finally {
      shard.close();
    }
  });
});

describe("the websites' visitors kept between queries", () => {
  function filled(spaces: VisitorSpaces, root: string, website: string) {
    const shards = new TransientShards(root);
    const months = shards.months(website, {});
    const space = spaces.of(website, months);
    for (const month of months) shards.withSummary(website, month, (summary) => space.ofSummary(month, summary.generation, summary));
    return space;
  }

  function rootWith(websites: string[]): string {
    const root = scratch();
    for (const website of websites) {
      for (const month of ["2016-01", "2016-02"]) {
        const path = join(root, website, month, "analytics.db");
        const shard = Shard.open(path, true, "normal");
        const { first } = monthBounds(month);
        shard.insert([Array.from({ length: 500 }, (_, i) => ({ time: first + i, event: "", path: "", ip: `10.1.${i >> 8}.${i & 255}`, platform: "", refererDomain: "", countryCode: "" }))]);
        shard.close();
      }
    }
    return root;
  }

  test("are the same from query to query, while within the budget", () => {
    const root = rootWith(["a.example", "b.example"]);
    const spaces = new VisitorSpaces(1 << 20);
    const a = filled(spaces, root, "a.example");
    const b = filled(spaces, root, "b.example");
    spaces.trim();
    expect(spaces.of("a.example", ["2016-01", "2016-02"])).toBe(a);
    expect(spaces.of("b.example", ["2016-01", "2016-02"])).toBe(b);
    expect(spaces.held()).toEqual({ websites: 2, visitors: 1000, bytes: a.bytes + b.bytes });
  });

  test("past the budget, the website used longest ago is dropped first", () => {
    const root = rootWith(["a.example", "b.example"]);
    const one = filled(new VisitorSpaces(1 << 20), root, "a.example").bytes;
    const spaces = new VisitorSpaces(one + one / 2);
    const a = filled(spaces, root, "a.example");
    filled(spaces, root, "b.example");
    spaces.trim();
    expect(spaces.held().websites).toBe(1);
    expect(spaces.of("a.example", ["2016-01", "2016-02"])).not.toBe(a);
    expect(new VisitorSpaces(0).held().bytes).toBe(0);
  });

  test("a budget of 0 keeps nothing once a query is answered", () => {
    const root = rootWith(["a.example"]);
    const spaces = new VisitorSpaces(0);
    filled(spaces, root, "a.example");
    spaces.trim();
    expect(spaces.held()).toEqual({ websites: 0, visitors: 0, bytes: 0 });
  });

  test("a stale space is dropped once its query is answered; one that holds a month gone is dropped before", () => {
    const root = rootWith(["a.example"]);
    const spaces = new VisitorSpaces(1 << 20);
    const space = filled(spaces, root, "a.example");
    space.stale = true;
    spaces.trim();
    expect(spaces.held().websites).toBe(0);
    const again = filled(spaces, root, "a.example");
    expect(spaces.of("a.example", ["2016-02"])).not.toBe(again);
  });

  test("forgetting a website drops what is kept of it", () => {
    const root = rootWith(["a.example", "b.example"]);
    const spaces = new VisitorSpaces(1 << 20);
    filled(spaces, root, "a.example");
    const b = filled(spaces, root, "b.example");
    spaces.forget("a.example");
    expect(spaces.held()).toEqual({ websites: 1, visitors: 500, bytes: b.bytes });
  });
});
