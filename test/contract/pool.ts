/**
 * The shard handle pool, seen as the operating system sees it: the files the
 * service's process holds open, from /proc (Linux only). In process, that is
 * the test's own process, so only files under the service's root count.
 * (--idle-timeout takes a second of real time at the least: the pool's unit
 * test checks it with a clock of its own, test/process/cli.test.ts end to end.)
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { seededRandom } from "../helpers/fuzz";
import { inParallel } from "../helpers/load";
import { isShardFile, openPaths } from "../helpers/shards";
import type { Target, Targets } from "../helpers/target";
import { waitFor } from "../helpers/wait";

const onLinux = process.platform === "linux";

const EVENT = { time: "2015-11-24T13:00:00Z", event: "pageview", path: "/", ip: "10.0.0.1" };

/** Files the service holds open under its root (or under one website's directory). */
function openUnder(service: Target, site = ""): string[] {
  const dir = join(realpathSync(service.root), site) + "/";
  return openPaths(service.pid).filter((path) => path.startsWith(dir));
}

/** Open shard files: `analytics.db` itself, not its -wal and -shm companions. */
const openShards = (service: Target, site = "") => openUnder(service, site).filter(isShardFile);

export function poolContract(targets: Targets) {
  describe.skipIf(!onLinux)("shard handle pool", () => {
    test("--connections 2: ten websites all answer, and never more than 2 shard files are open", async () => {
      const service = await targets.open({ args: ["--connections", "2"] });
      const sites = Array.from({ length: 10 }, (_, i) => `site-${i}.example`);
      const seen: number[] = [];
      const check = () => {
        const open = openShards(service).length;
        seen.push(open);
        // The shard just used is open (so the count is real), and the cap holds.
        expect(open).toBeGreaterThanOrEqual(1);
        expect(open).toBeLessThanOrEqual(2);
      };

      for (const [i, site] of sites.entries()) {
        // Two months per website: each write touches two shards.
        const bulk = await service.request(`/${site}/bulk`, {
          body: {
            list: [
              { ...EVENT, path: `/${i}` },
              { ...EVENT, time: "2015-12-01T00:00:00Z", path: `/${i}`, ip: "10.0.0.2" },
            ],
          },
        });
        expect({ status: bulk.status, body: bulk.body }).toEqual({ status: 200, body: { inserted: 2 } });
        check();
      }

      for (const [i, site] of sites.entries()) {
        expect((await service.request(`/${site}/count`)).body).toEqual({ total: 2, unique: 2 });
        check();
        const list = await service.request(`/${site}`);
        expect(list.body.list.map((visit: { time: string; path: string }) => [visit.time, visit.path])).toEqual([
          ["2015-11-24T13:00:00Z", `/${i}`],
          ["2015-12-01T00:00:00Z", `/${i}`],
        ]);
        check();
      }
      expect(Math.max(...seen)).toBe(2);
      await service.close();
    });

    test("DELETE closes the website's files", async () => {
      const service = await targets.open();
      const bulk = await service.request("/gone.example/bulk", { body: { list: [EVENT, { ...EVENT, time: "2016-01-02T00:00:00Z" }] } });
      expect(bulk.status).toBe(200);
      expect((await service.request("/kept.example", { body: EVENT })).status).toBe(200);
      expect(openShards(service, "gone.example")).toHaveLength(2);

      expect((await service.request("/gone.example", { method: "DELETE" })).status).toBe(200);
      // Shards, -wal and -shm files, deleted or not: nothing of the website stays open.
      await waitFor("the deleted website's files to be closed", () => openUnder(service, "gone.example").length === 0, 5_000);
      // Other websites' shards are left alone and still answer.
      expect(openShards(service, "kept.example")).toHaveLength(1);
      expect((await service.request("/kept.example/count")).body).toEqual({ total: 1, unique: 1 });

      // The website can be written again from scratch.
      expect((await service.request("/gone.example")).status).toBe(404);
      expect((await service.request("/gone.example", { body: EVENT })).status).toBe(200);
      expect((await service.request("/gone.example/count")).body).toEqual({ total: 1, unique: 1 });
      await service.close();
    });
  });

  describe.skipIf(!onLinux)("many websites through a small pool", () => {
    // 300 websites through 20 handles is 280 evictions, with 50 writes in flight
    // at a time: what the bound has to survive. More websites repeat the same
    // evictions; the full 10,000 with --connections 100 run in the benchmark
    // (bench/ingest.ts, `bun run bench:ingest`).
    const WEBSITES = 300;
    const POOL = 20;
    const IN_FLIGHT = 50;

    test(`--connections ${POOL}: ${WEBSITES} websites written, never more than ${POOL} shard files open`, async () => {
      const service = await targets.open({ args: ["--connections", String(POOL)] });
      const ownProcess = service.pid !== process.pid;
      const baseline = openPaths(service.pid).length;
      const seen = { shards: 0, samples: 0 };
      const sample = () => {
        const paths = openPaths(service.pid);
        const under = openUnder(service);
        const shards = under.filter(isShardFile).length;
        seen.shards = Math.max(seen.shards, shards);
        seen.samples++;
        expect(shards).toBeLessThanOrEqual(POOL);
        // Shards with their -wal and -shm, the lock file, and a new shard's directory,
        // which SQLite opens for a moment to fsync it when it creates a file there.
        expect(under.length).toBeLessThanOrEqual(POOL * 3 + 2);
        // A process of its own holds what it held before (the listening socket, …), three
        // files per open shard, a socket per client connection, and a little room for
        // sockets closing. (The test runner's own descriptors come and go: not counted in process.)
        if (ownProcess) expect(paths.length).toBeLessThanOrEqual(baseline + POOL * 3 + IN_FLIGHT + 15);
      };

      let failures = 0;
      await inParallel(WEBSITES, IN_FLIGHT, async (i) => {
        const { status } = await service.request(`/w${i}.example`, { body: { time: "2015-11-24T13:00:00Z", path: `/${i}`, ip: "10.0.0.1" } });
        if (status !== 200) failures++;
        if (i % 5 === 0) sample();
      });
      sample();
      expect(failures).toBe(0);
      expect(seen.samples).toBeGreaterThan(50);
      // The pool filled up (so the count is real) and never went past its size.
      expect(seen.shards).toBe(POOL);

      const rand = seededRandom(1000);
      const picks = new Set<number>();
      while (picks.size < 20) picks.add(Math.floor(rand() * WEBSITES));
      for (const i of picks) expect([i, (await service.request(`/w${i}.example/count`)).body]).toEqual([i, { total: 1, unique: 1 }]);
      expect(readdirSync(service.root, { withFileTypes: true }).filter((e) => e.isDirectory()).length).toBe(WEBSITES);
      sample();
      await service.close();
    });
  });
}
