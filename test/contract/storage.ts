import { beforeAll, describe, expect, test } from "bun:test";
import type { Database } from "bun:sqlite";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { scratch } from "../helpers/cleanup";
import { inspect, writeOriginalShard, type VisitRow } from "../helpers/shards";
import type { Target, Targets } from "../helpers/target";

const CONTRACT_COLUMNS = [
  { name: "time", type: "INTEGER" },
  { name: "event", type: "TEXT" },
  { name: "path", type: "TEXT" },
  { name: "ip", type: "TEXT" },
  { name: "platform", type: "TEXT" },
  { name: "refererDomain", type: "TEXT" },
  { name: "countryCode", type: "TEXT" },
];

function columns(db: Database) {
  return db
    .query<{ name: string; type: string }, []>("PRAGMA table_info(visits)")
    .all()
    .map(({ name, type }) => ({ name, type }));
}

/** Whether some index of `visits` starts with the `time` column. */
function hasTimeIndex(db: Database): boolean {
  const indexes = db.query<{ name: string }, []>("PRAGMA index_list(visits)").all();
  return indexes.some(({ name }) => {
    const [first] = db.query<{ name: string }, []>(`PRAGMA index_info("${name.replaceAll('"', '""')}")`).all();
    return first?.name === "time";
  });
}

/** The table's columns in the order an answer lists a visit's fields. */
const asVisit = (row: VisitRow) => ({
  time: new Date(row.time * 1000).toISOString().slice(0, 19) + "Z",
  event: row.event,
  path: row.path,
  ip: row.ip,
  platform: row.platform,
  refererDomain: row.refererDomain,
  countryCode: row.countryCode,
});

const NOVEMBER: VisitRow[] = [
  { time: 1448366400, event: "pageview", path: "/", ip: "1.1.1.1", platform: "Windows", refererDomain: "google.com", countryCode: "au" },
  { time: 1448370000, event: "download", path: "/README.md", ip: "2.2.2.2", platform: "Mac OS", refererDomain: "", countryCode: "fr" },
];
const DECEMBER: VisitRow[] = [
  { time: 1449000000, event: "pageview", path: "/about", ip: "1.1.1.1", platform: "Linux", refererDomain: "github.com", countryCode: "au" },
  { time: 1449100000, event: "pageview", path: "/", ip: "3.3.3.3", platform: "Windows", refererDomain: "google.com", countryCode: "us" },
  { time: 1449200000, event: "signup", path: "/join", ip: "2.2.2.2", platform: "iOS", refererDomain: "", countryCode: "fr" },
];

/** The on-disk layout: the contract's table, month shards, a data directory of the original, stray entries. */
export function storageContract(targets: Targets) {
  let shared: Target;
  beforeAll(async () => {
    shared = await targets.shared();
  });
  const serve = async (options: { root?: string } = {}) => (options.root ? targets.open(options) : shared);

  describe("shards the service creates", () => {
    test("hold exactly the contract's visits table, an index on time, in WAL mode", async () => {
      const server = await serve();
      const post = await server.request(`/fresh.example`, {
        body: { time: "2015-11-24T13:00:00Z", event: "pageview", path: "/", ip: "127.0.0.1" },
      });
      expect(post.status).toBe(200);

      const shard = join(server.root, "fresh.example", "2015-11", "analytics.db");
      expect(existsSync(shard)).toBe(true);
      inspect(shard, (db) => {
        expect(columns(db)).toEqual(CONTRACT_COLUMNS);
        expect(hasTimeIndex(db)).toBe(true);
        expect(db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()?.journal_mode).toBe("wal");
        expect(db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM visits").get()?.n).toBe(1);
      });
    });

    test("are split by the UTC month of each event", async () => {
      const server = await serve();
      const bulk = await server.request(`/months.example/bulk`, {
        body: {
          list: [
            { time: "2015-11-30T23:59:59Z" },
            // 00:30 on 1 December in UTC, still 30 November at UTC-1.
            { time: "2015-11-30T23:30:00-01:00" },
            { time: "2016-01-01T00:00:00Z" },
          ],
        },
      });
      expect(bulk.status).toBe(200);
      expect(readdirSync(join(server.root, "months.example")).sort()).toEqual(["2015-11", "2015-12", "2016-01"]);
      for (const month of ["2015-11", "2015-12", "2016-01"]) {
        const shard = join(server.root, "months.example", month, "analytics.db");
        expect(inspect(shard, (db) => db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM visits").get()?.n)).toBe(1);
      }
    });
  });

  describe("a data directory of the original service", () => {
    test("is served as it is, and its shards gain the time index without losing rows", async () => {
      const root = join(scratch(), "dbs");
      const november = writeOriginalShard(root, "legacy.example", "2015-11", NOVEMBER);
      const december = writeOriginalShard(root, "legacy.example", "2015-12", DECEMBER);
      writeFileSync(join(root, "legacy.example", ".DS_Store"), "\x00\x00\x00\x01Bud1");
      mkdirSync(join(root, "legacy.example", "notamonth"));
      for (const shard of [november, december]) {
        inspect(shard, (db) => {
          expect(hasTimeIndex(db)).toBe(false);
          expect(db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()?.journal_mode).toBe("delete");
        });
      }

      const server = await serve({ root });

      const count = await server.request(`/legacy.example/count`);
      expect(count.status).toBe(200);
      expect(count.body).toEqual({ total: 5, unique: 3 });

      const list = await server.request(`/legacy.example`);
      expect(list.status).toBe(200);
      expect(list.body).toEqual({ list: [...NOVEMBER, ...DECEMBER].map(asVisit) });

      const december2015 = await server.request(`/legacy.example/count?start=2015-12-01T00:00:00Z`);
      expect(december2015.body).toEqual({ total: 3, unique: 3 });

      for (const [shard, rows] of [
        [november, NOVEMBER],
        [december, DECEMBER],
      ] as const) {
        inspect(shard, (db) => {
          expect(columns(db)).toEqual(CONTRACT_COLUMNS);
          expect(hasTimeIndex(db)).toBe(true);
          expect(db.query<VisitRow, []>("SELECT * FROM visits ORDER BY time").all()).toEqual([...rows]);
        });
      }

      // The stray entries are still there, untouched.
      expect(existsSync(join(root, "legacy.example", ".DS_Store"))).toBe(true);
      expect(readdirSync(join(root, "legacy.example", "notamonth"))).toEqual([]);
    });
  });

  describe("stray entries in a website's directory", () => {
    test("are ignored by every query and by writes, never an error", async () => {
      const root = join(scratch(), "dbs");
      const site = join(root, "stray.example");
      writeOriginalShard(root, "stray.example", "2015-11", NOVEMBER);
      writeFileSync(join(site, ".DS_Store"), "\x00\x00\x00\x01Bud1");
      writeFileSync(join(site, "notes.txt"), "not a shard");
      // Directories that are not YYYY-MM shards, even when they hold an analytics.db.
      writeOriginalShard(root, "stray.example", "notamonth", DECEMBER);
      writeOriginalShard(root, "stray.example", "2015-13", DECEMBER);
      writeOriginalShard(root, "stray.example", "2015-1", DECEMBER);
      // A month directory without its shard file, and a file named like a month.
      mkdirSync(join(site, "2015-10"));
      writeFileSync(join(site, "2015-12"), "a file, not a month directory");

      const server = await serve({ root });

      const count = await server.request(`/stray.example/count`);
      expect(count.status).toBe(200);
      expect(count.body).toEqual({ total: 2, unique: 2 });

      const list = await server.request(`/stray.example`);
      expect(list.status).toBe(200);
      expect(list.body).toEqual({ list: NOVEMBER.map(asVisit) });

      for (const property of ["countries", "platforms", "domains", "events"]) {
        const response = await server.request(`/stray.example/${property}?unique=true`);
        expect({ property, status: response.status }).toEqual({ property, status: 200 });
        expect(response.body.list.reduce((sum: number, group: { total: number }) => sum + group.total, 0)).toBe(2);
      }

      const series = await server.request(`/stray.example/time?interval=86400`);
      expect(series.status).toBe(200);
      expect(series.body.list.reduce((sum: number, bucket: { total: number }) => sum + bucket.total, 0)).toBe(2);

      // A write into an existing month beside the stray entries.
      const post = await server.request(`/stray.example`, {
        body: { time: "2015-11-25T00:00:00Z", event: "pageview", path: "/new", ip: "4.4.4.4" },
      });
      expect(post.status).toBe(200);
      expect((await server.request(`/stray.example/count`)).body).toEqual({ total: 3, unique: 3 });

      // The stray entries were neither used nor changed.
      expect(existsSync(join(site, "2015-10", "analytics.db"))).toBe(false);
      expect(await Bun.file(join(site, "notes.txt")).text()).toBe("not a shard");

      // And DELETE removes the whole directory, strays included.
      const del = await server.request(`/stray.example`, { method: "DELETE" });
      expect(del.status).toBe(200);
      expect(existsSync(site)).toBe(false);
    });

    test("DELETE leaves nothing in the root; what a delete cut short by a crash left is removed at start", async () => {
      const root = join(scratch(), "dbs");
      writeOriginalShard(root, "gone.example", "2015-11", NOVEMBER);
      writeOriginalShard(root, "kept.example", "2015-11", NOVEMBER);
      // As a process killed between the rename and the removal leaves it.
      writeOriginalShard(root, ".deleting-0b1f", "2015-11", NOVEMBER);

      const server = await serve({ root });
      expect(
        readdirSync(root)
          .filter((name) => !name.startsWith(".micro-analytics"))
          .sort(),
      ).toEqual(["gone.example", "kept.example"]);
      expect((await server.request(`/gone.example`, { method: "DELETE" })).status).toBe(200);
      expect(readdirSync(root).filter((name) => !name.startsWith(".micro-analytics"))).toEqual(["kept.example"]);
      expect((await server.request(`/kept.example/count`)).body).toEqual({ total: 2, unique: 2 });
    });

    test("a stray file in the root is not a website", async () => {
      const server = await serve();
      writeFileSync(join(server.root, "notes.txt"), "not a website");
      const response = await server.request(`/notes.txt/count`);
      expect(response.status).toBe(404);
      expect(response.body.code).toBe("InvalidDatabaseName");
    });
  });
}
