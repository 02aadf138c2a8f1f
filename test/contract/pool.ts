/**
 * The shard handle pool, seen as the operating system sees it: the files the
 * service's process holds open, from /proc (Linux only). In process, that is
 * the test's own process, so only files under the service's root count.
 * (--idle-timeout takes a second of real time at the least: the pool's unit
 * test checks it with a clock of its own, test/process/cli.test.ts end to end.)
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { realpathSync } from "node:fs";
import { join } from "node:path";
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
      const service = await targets.shared();
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
}
