import { afterAll, afterEach, expect, setDefaultTimeout, setSystemTime, test } from "bun:test";
import { join } from "node:path";
import { ShardPool } from "../../../src/store/pool";
import { cleanup, scratch } from "../../helpers/cleanup";
import { TEST_MS, waitFor } from "../../helpers/wait";

afterAll(cleanup);
setDefaultTimeout(TEST_MS);
afterEach(() => setSystemTime());

const shardIn = (dir: string, name: string) => join(dir, name, "2015-11", "analytics.db");

test("the least recently used shard is closed to make room, not the one used since", () => {
  const dir = scratch();
  const pool = new ShardPool({ maxOpen: 2, idleMs: 60_000, sync: "normal" });
  const a = pool.acquire(shardIn(dir, "a"), true);
  const b = pool.acquire(shardIn(dir, "b"), true);
  expect(pool.acquire(shardIn(dir, "a"), false)).toBe(a);
  pool.acquire(shardIn(dir, "c"), true);

  expect(pool.stats()).toMatchObject({ open: 2, hits: 1, misses: 3, evictions: 1 });
  expect(a.maxRowid()).toBe(0);
  // b was closed: its statements are finalized.
  expect(() => b.maxRowid()).toThrow();
  pool.closeAll();
});

test("a shard is closed once unused for idleMs, and a use before that keeps it open", async () => {
  const dir = scratch();
  // The pool reads the time from Date.now, which the test sets: the sweeps run
  // every idleMs of real time, but what they close depends only on that clock.
  const start = Date.now();
  setSystemTime(start);
  const pool = new ShardPool({ maxOpen: 10, idleMs: 20, sync: "normal" });
  // The sentinel is used first and never again: its close shows that a sweep ran.
  const sentinel = pool.acquire(shardIn(dir, "sentinel"), true);
  const busy = pool.acquire(shardIn(dir, "busy"), true);

  setSystemTime(start + 15);
  expect(pool.acquire(shardIn(dir, "busy"), false)).toBe(busy);
  setSystemTime(start + 30);
  // 30 after the sentinel's use, 15 after busy's: the sentinel goes, busy stays.
  await waitFor("a sweep to close the sentinel", () => pool.stats().idleCloses === 1, 3_000);
  expect(() => sentinel.maxRowid()).toThrow();
  expect(busy.maxRowid()).toBe(0);
  expect(pool.stats()).toMatchObject({ open: 1, idleCloses: 1 });

  setSystemTime(start + 40);
  await waitFor("a sweep to close the busy shard", () => pool.stats().open === 0, 3_000);
  expect(pool.stats()).toMatchObject({ idleCloses: 2, evictions: 0 });
  pool.closeAll();
});
