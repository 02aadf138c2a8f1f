/**
 * Flags that change what the service stores or how it reads it: --geoip and
 * --retention-months.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { scratch } from "../helpers/cleanup";
import { writeOriginalShard, type VisitRow } from "../helpers/shards";
import type { Targets } from "../helpers/target";

function row(time: number, platform: string, n: number): VisitRow {
  return { time, event: "pageview", path: `/page/${n}`, ip: `10.0.0.${n}`, platform, refererDomain: "example.org", countryCode: "fr" };
}

export function optionsContract(targets: Targets) {
  describe("--geoip", () => {
    test("an ip-location-db .mmdb file replaces the embedded database", async () => {
      const mmdb = resolve(import.meta.dir, "../../node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb");
      expect(existsSync(mmdb)).toBe(true);
      const server = await targets.open({ args: ["--geoip", mmdb] });
      const post = await server.request("/geo.example", { body: { time: "2015-11-24T13:00:00Z", ip: "8.8.8.8" } });
      expect(post.status).toBe(200);
      const { status, body } = await server.request("/geo.example");
      expect(status).toBe(200);
      expect(body.list.map((visit: { countryCode: string }) => visit.countryCode)).toEqual(["us"]);
      await server.close();
    });
  });

  describe("--retention-months", () => {
    /** The UTC month `back` months before the current one: its name and a time in its middle. */
    function monthBack(back: number): { month: string; time: number } {
      const now = new Date();
      const at = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 15, 12));
      return { month: at.toISOString().slice(0, 7), time: at.getTime() / 1000 };
    }
    const BACKS = [0, 1, 3, 11, 12, 13, 24];
    const SITE = "kept.example";

    function buildRoot(): string {
      const root = join(scratch(), "dbs");
      for (const back of BACKS) {
        const { month, time } = monthBack(back);
        writeOriginalShard(root, SITE, month, [row(time, "Linux", back + 1), row(time + 60, "Linux", back + 100)]);
      }
      return root;
    }
    const monthsOnDisk = (root: string) => readdirSync(join(root, SITE)).sort();
    const allMonths = () => BACKS.map((back) => monthBack(back).month).sort();

    test("off by default: every month is kept and answered", async () => {
      const root = buildRoot();
      const server = await targets.open({ root });
      expect((await server.request(`/${SITE}/count`)).body).toEqual({ total: BACKS.length * 2, unique: BACKS.length * 2 });
      const old = await server.request(`/${SITE}`, {
        body: { time: monthBack(36).time, path: "/very-old" },
      });
      expect(old.status).toBe(200);
      await server.close();
      expect(monthsOnDisk(root)).toEqual([...allMonths(), monthBack(36).month].sort());
    });

    test("12: months before the window are dropped at start; events before it are refused, inside it stored", async () => {
      const root = buildRoot();
      const server = await targets.open({ root, args: ["--retention-months", "12"] });
      const kept = [0, 1, 3, 11].map((back) => monthBack(back).month).sort();
      const dropped = [12, 13, 24].map((back) => monthBack(back).month);
      expect(monthsOnDisk(root)).toEqual(kept);
      for (const month of dropped) expect(existsSync(join(root, SITE, month))).toBe(false);

      // The kept months still answer, each by itself and together.
      expect((await server.request(`/${SITE}/count`)).body).toEqual({ total: 8, unique: 8 });
      for (const back of [0, 1, 3, 11]) {
        const { month } = monthBack(back);
        const start = `${month}-01T00:00:00Z`;
        const end = `${month}-28T23:59:59Z`;
        const count = await server.request(`/${SITE}/count?start=${start}&end=${end}`);
        expect({ month, body: count.body }).toEqual({ month, body: { total: 2, unique: 2 } });
      }

      // The window starts at the first second of the month 11 before the current one.
      const now = new Date();
      const windowStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 11, 1) / 1000;
      const tooOld = await server.request(`/${SITE}`, { body: { time: windowStart - 1, path: "/too-old" } });
      expect(tooOld.status).toBe(400);
      expect(tooOld.body.code).toBe("InvalidEvent");
      expect(tooOld.body.message).toMatch(/retention/);
      const ancient = await server.request(`/${SITE}`, { body: { time: monthBack(13).time, path: "/ancient" } });
      expect(ancient.status).toBe(400);
      expect(ancient.body.code).toBe("InvalidEvent");
      // All or nothing: a bulk with one event before the window stores none.
      const mixed = await server.request(`/${SITE}/bulk`, {
        body: {
          list: [
            { time: Math.floor(Date.now() / 1000), path: "/mixed-new" },
            { time: monthBack(24).time, path: "/mixed-old" },
          ],
        },
      });
      expect(mixed.status).toBe(400);
      expect(mixed.body.code).toBe("InvalidEvent");
      expect(mixed.body.message).toContain("list[1].time");
      expect((await server.request(`/${SITE}/count`)).body.total).toBe(8);
      for (const month of dropped) expect(existsSync(join(root, SITE, month))).toBe(false);

      const edge = await server.request(`/${SITE}`, { body: { time: windowStart, path: "/edge", ip: "10.9.9.9" } });
      expect(edge.status).toBe(200);
      expect(edge.body).toEqual({ inserted: 1 });
      const recent = await server.request(`/${SITE}`, { body: { time: monthBack(1).time, path: "/recent", ip: "10.9.9.8" } });
      expect(recent.status).toBe(200);
      expect((await server.request(`/${SITE}/count`)).body).toEqual({ total: 10, unique: 10 });
      const paths = (await server.request(`/${SITE}`)).body.list.map((visit: { path: string }) => visit.path);
      expect(paths).toContain("/edge");
      expect(paths).not.toContain("/too-old");
      expect(paths).not.toContain("/mixed-new");
      await server.close();
      expect(monthsOnDisk(root)).toEqual(kept);
    });
  });
}
