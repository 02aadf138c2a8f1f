import { describe, expect, test } from "bun:test";
import { realpathSync } from "node:fs";
import { join } from "node:path";
import { request, startServer, type TestServer } from "../helpers/server";
import { openPaths } from "../helpers/files";

/**
 * These tests look at the server from the outside, as the operating system
 * sees it: the files its process holds open, from /proc (Linux only).
 */
const onLinux = process.platform === "linux";

const EVENT = { time: "2015-11-24T13:00:00Z", event: "pageview", path: "/", ip: "10.0.0.1" };

/** Open shard files: `analytics.db` itself, not its -wal and -shm companions. */
function openShards(server: TestServer): string[] {
  return openPaths(server.pid).filter((path) => /(^|\/)analytics\.db( \(deleted\))?$/.test(path));
}

/** Any file the process holds open under the website's directory, shard or not. */
function openUnder(server: TestServer, site: string): string[] {
  const dir = join(realpathSync(server.root), site) + "/";
  return openPaths(server.pid).filter((path) => path.startsWith(dir));
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await Bun.sleep(50);
  }
  return true;
}

describe.skipIf(!onLinux)("shard handle pool", () => {
  test("--connections 2: ten websites all answer, and never more than 2 shard files are open", async () => {
    const server = await startServer({ args: ["--connections", "2"] });
    try {
      const sites = Array.from({ length: 10 }, (_, i) => `site-${i}.example`);
      const seen: number[] = [];
      const check = () => {
        const open = openShards(server).length;
        seen.push(open);
        // The shard just used is open (so the count is real), and the cap holds.
        expect(open).toBeGreaterThanOrEqual(1);
        expect(open).toBeLessThanOrEqual(2);
      };

      for (const [i, site] of sites.entries()) {
        // Two months per website: each write touches two shards.
        const bulk = await request(`${server.url}/${site}/bulk`, {
          body: {
            list: [
              { ...EVENT, path: `/${i}` },
              { ...EVENT, time: "2015-12-01T00:00:00Z", path: `/${i}`, ip: "10.0.0.2" },
            ],
          },
        });
        expect(bulk.status).toBe(200);
        expect(bulk.body).toEqual({ inserted: 2 });
        check();
      }

      for (const [i, site] of sites.entries()) {
        const count = await request(`${server.url}/${site}/count`);
        expect(count.status).toBe(200);
        expect(count.body).toEqual({ total: 2, unique: 2 });
        check();

        const list = await request(`${server.url}/${site}`);
        expect(list.status).toBe(200);
        expect(list.body.list.map((visit: { time: string; path: string }) => [visit.time, visit.path])).toEqual([
          ["2015-11-24T13:00:00Z", `/${i}`],
          ["2015-12-01T00:00:00Z", `/${i}`],
        ]);
        check();
      }

      expect(Math.max(...seen)).toBe(2);
    } finally {
      await server.stop();
    }
  });

  test("--idle-timeout 1: an unused shard is closed, and reopened by the next query", async () => {
    const server = await startServer({ args: ["--idle-timeout", "1"] });
    try {
      const post = await request(`${server.url}/idle.example`, { body: EVENT });
      expect(post.status).toBe(200);
      expect(openShards(server)).toHaveLength(1);

      await Bun.sleep(2_500);
      expect(openShards(server)).toEqual([]);

      const count = await request(`${server.url}/idle.example/count`);
      expect(count.status).toBe(200);
      expect(count.body).toEqual({ total: 1, unique: 1 });
      const list = await request(`${server.url}/idle.example`);
      expect(list.body.list).toEqual([
        { time: "2015-11-24T13:00:00Z", event: "pageview", path: "/", ip: "10.0.0.1", platform: "", refererDomain: "", countryCode: "" },
      ]);
      expect(openShards(server)).toHaveLength(1);
    } finally {
      await server.stop();
    }
  });

  test("a shard in use is not closed by the idle timeout while it keeps being used", async () => {
    const server = await startServer({ args: ["--idle-timeout", "1"] });
    try {
      expect((await request(`${server.url}/busy.example`, { body: EVENT })).status).toBe(200);
      const [shard] = openShards(server);
      expect(shard).toBeDefined();
      // Used every 300 ms for 1.8 s: never idle for 1 s, so never closed and reopened.
      for (let i = 0; i < 6; i++) {
        await Bun.sleep(300);
        // Checked before the request, which would reopen a closed shard.
        expect(openShards(server)).toEqual([shard!]);
        // The event list reads through the pool (counts go through the query worker).
        expect((await request(`${server.url}/busy.example?limit=10`)).body.list).toHaveLength(1);
      }
    } finally {
      await server.stop();
    }
  });

  test("DELETE closes the website's files", async () => {
    const server = await startServer();
    try {
      const bulk = await request(`${server.url}/gone.example/bulk`, {
        body: { list: [EVENT, { ...EVENT, time: "2016-01-02T00:00:00Z" }] },
      });
      expect(bulk.status).toBe(200);
      expect((await request(`${server.url}/kept.example`, { body: EVENT })).status).toBe(200);
      expect(openUnder(server, "gone.example").filter((path) => path.endsWith("analytics.db"))).toHaveLength(2);

      const del = await request(`${server.url}/gone.example`, { method: "DELETE" });
      expect(del.status).toBe(200);
      // Shards, -wal and -shm files, deleted or not: nothing of the website stays open.
      expect(await waitUntil(() => openUnder(server, "gone.example").length === 0, 1_000)).toBe(true);
      expect(openUnder(server, "gone.example")).toEqual([]);
      // Other websites' shards are left alone and still answer.
      expect(openUnder(server, "kept.example").filter((path) => path.endsWith("analytics.db"))).toHaveLength(1);
      expect((await request(`${server.url}/kept.example/count`)).body).toEqual({ total: 1, unique: 1 });

      // The website can be written again from scratch.
      expect((await request(`${server.url}/gone.example`)).status).toBe(404);
      expect((await request(`${server.url}/gone.example`, { body: EVENT })).status).toBe(200);
      expect((await request(`${server.url}/gone.example/count`)).body).toEqual({ total: 1, unique: 1 });
    } finally {
      await server.stop();
    }
  });
});
