/**
 * Operating the service for years (issue 6): upgrading a data directory of the
 * original Go service and renaming its platform names (`migrate-platforms`),
 * `check`, `backup` while the service keeps ingesting, and `--retention-months`.
 * Every server and command runs as its own process on real files, so the suite
 * proves the compiled binary as well (MA_TEST_SERVER).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { request, runCli, startServer, tempDir, type TestServer } from "../helpers/server";
import { inspect, writeOriginalShard, type VisitRow } from "../helpers/files";

const WINDOWS_CHROME =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

/** For tests that run several processes one after the other: a failure shows its assertion, not a timeout. */
const SLOW = 20_000;

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A new temporary directory, removed after the file's tests. */
function scratch(prefix = "ma-ops-"): string {
  const dir = tempDir(prefix);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts a server that is stopped after the file's tests at the latest (stop() twice is harmless). */
async function serve(options: Parameters<typeof startServer>[0] = {}): Promise<TestServer> {
  const server = await startServer(options);
  cleanups.push(() => server.stop());
  return server;
}

function row(time: number, platform: string, n: number): VisitRow {
  return { time, event: "pageview", path: `/page/${n}`, ip: `10.0.0.${n}`, platform, refererDomain: "example.org", countryCode: "fr" };
}

/** `{id: total}` of a group-by answer. */
function totals(list: { id: string; total: number }[]): Record<string, number> {
  return Object.fromEntries(list.map(({ id, total }) => [id, total]));
}

describe("migrating a data directory of the original service", () => {
  // 2015-11 and 2015-12, with the original's own platform names.
  const NOV = Date.UTC(2015, 10, 10) / 1000;
  const DEC = Date.UTC(2015, 11, 10) / 1000;
  const november: VisitRow[] = ["Microsoft Windows", "Microsoft Windows", "Microsoft Windows", "Apple Mac", "Apple Mac", "iPhone", "iPhone", "Linux", "Curl"].map(
    (platform, i) => row(NOV + i * 60, platform, i + 1),
  );
  const december: VisitRow[] = ["Microsoft Windows", "Microsoft Windows", "iPad", "iPad", "iPad", "Android", "Android", "Samsung", "Apple Mac"].map(
    (platform, i) => row(DEC + i * 60, platform, i + 20),
  );
  // Microsoft Windows 5, Apple Mac 3, iPhone 2, iPad 3: 13 legacy names to rename.
  const LEGACY_ROWS = 13;
  const platforms = (rows: [string, number][]) => ({ list: rows.map(([id, total]) => ({ id, label: id, total, unique: 0 })) });
  // Before the rewrite, with one new event from Windows Chrome.
  const SPLIT = platforms([
    ["Microsoft Windows", 5],
    ["Apple Mac", 3],
    ["iPad", 3],
    ["Android", 2],
    ["iPhone", 2],
    ["Curl", 1],
    ["Linux", 1],
    ["Samsung", 1],
    ["Windows", 1],
  ]);
  // After it: one name per platform, totals summed; names with no counterpart kept.
  const MERGED = platforms([
    ["Windows", 6],
    ["iOS", 5],
    ["Mac OS", 3],
    ["Android", 2],
    ["Curl", 1],
    ["Linux", 1],
    ["Samsung", 1],
  ]);

  function legacyRoot(): { root: string; base: string; shards: string[] } {
    const base = scratch("ma-migrate-");
    const root = join(base, "dbs");
    const shards = [writeOriginalShard(root, "legacy.example", "2015-11", november), writeOriginalShard(root, "legacy.example", "2015-12", december)];
    return { root, base, shards };
  }

  /** Posts the new event from Windows Chrome into December, then expects the split. */
  async function postAndSeeSplit(server: TestServer): Promise<void> {
    const post = await request(`${server.url}/legacy.example`, {
      body: { time: "2015-12-20T12:00:00Z", event: "pageview", path: "/new", ip: "10.0.1.1", headers: { "User-Agent": WINDOWS_CHROME } },
    });
    expect(post.status).toBe(200);
    expect(post.body).toEqual({ inserted: 1 });
    const split = await request(`${server.url}/legacy.example/platforms`);
    expect(split.status).toBe(200);
    expect(split.body).toEqual(SPLIT);
  }

  test("the split shows, migrate-platforms renames in place once, refuses while the service runs", async () => {
    const { root, shards } = legacyRoot();

    // 1. Served as it is; a new event from Windows Chrome is named the way ua-parser-js names it.
    const first = await serve({ root });
    await postAndSeeSplit(first);

    // 2. While the service runs on the root, the rewrite is refused and changes nothing.
    const busy = await runCli(["migrate-platforms", "--root", root]);
    expect(busy.exitCode).not.toBe(0);
    expect(busy.stdout + busy.stderr).toMatch(/in use/i);
    const stillSplit = await request(`${first.url}/legacy.example/platforms`);
    expect(stillSplit.body).toEqual(SPLIT);
    const decemberSplit = await request(`${first.url}/legacy.example/platforms?start=2015-12-01T00:00:00Z`);
    expect(totals(decemberSplit.body.list)).toEqual({ "Microsoft Windows": 2, Windows: 1, iPad: 3, Android: 2, Samsung: 1, "Apple Mac": 1 });
    await first.stop();

    // What the rewrite must not touch: every other column of every row.
    const otherColumns = () =>
      shards.map((shard) =>
        inspect(shard, (db) => db.query("SELECT time, event, path, ip, refererDomain, countryCode FROM visits ORDER BY rowid").all()),
      );
    const before = otherColumns();
    expect(
      shards
        .map((shard) => inspect(shard, (db) => db.query<{ platform: string }, []>("SELECT platform FROM visits").all()))
        .flat()
        .filter(({ platform }) => platform === "Microsoft Windows").length,
    ).toBe(5);

    // 3. With the service stopped: renamed in place, the count told.
    const migrated = await runCli(["migrate-platforms", "--root", root]);
    expect({ exitCode: migrated.exitCode, stderr: migrated.stderr }).toEqual({ exitCode: 0, stderr: "" });
    expect(migrated.stdout).toMatch(new RegExp(`renamed ${LEGACY_ROWS}\\b`));
    expect(otherColumns()).toEqual(before);

    // 4. One name per platform, totals summed; names with no counterpart kept.
    const second = await serve({ root });
    const merged = await request(`${second.url}/legacy.example/platforms`);
    expect(merged.status).toBe(200);
    expect(merged.body).toEqual(MERGED);
    expect((await request(`${second.url}/legacy.example/count`)).body).toEqual({ total: 19, unique: 19 });
    // Per month as well: December's Windows are the two renamed and the new one.
    const decemberOnly = await request(`${second.url}/legacy.example/platforms?start=2015-12-01T00:00:00Z`);
    expect(totals(decemberOnly.body.list)).toEqual({ Windows: 3, iOS: 3, Android: 2, Samsung: 1, "Mac OS": 1 });
    await second.stop();

    // 5. Running it again renames nothing more.
    const again = await runCli(["migrate-platforms", "--root", root]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/renamed 0\b/);
    expect(otherColumns()).toEqual(before);
  }, SLOW);

  test("an answer cached before the rewrite is not served after it (one cache directory across restarts, as under systemd)", async () => {
    const { root, base } = legacyRoot();
    const args = ["--cache-directory", join(base, "cache")];
    const first = await serve({ root, args });
    await postAndSeeSplit(first);
    expect((await request(`${first.url}/legacy.example/platforms`)).body).toEqual(SPLIT);
    await first.stop();

    // The README's command, as a person runs it from a shell.
    const migrated = await runCli(["migrate-platforms", "--root", root]);
    expect(migrated.exitCode).toBe(0);
    expect(migrated.stdout).toMatch(new RegExp(`renamed ${LEGACY_ROWS}\\b`));

    const second = await serve({ root, args });
    expect((await request(`${second.url}/legacy.example/platforms`)).body).toEqual(MERGED);
    await second.stop();
  }, SLOW);
});

/**
 * Changes the time stored in the first entry of a shard's `visits_time` index
 * by one second, leaving the row itself alone. The shard must be small enough
 * for the index to be one leaf page, and hold no WAL.
 */
function corruptOneIndexEntry(path: string): void {
  const rootPage = inspect(path, (db) => db.query<{ rootpage: number }, []>("SELECT rootpage FROM sqlite_master WHERE name = 'visits_time'").get()?.rootpage);
  expect(rootPage).toBeGreaterThan(1);
  const file = readFileSync(path);
  const pageSize = file.readUInt16BE(16) === 1 ? 65536 : file.readUInt16BE(16);
  const page = (rootPage! - 1) * pageSize;
  expect(file[page]).toBe(0x0a); // a leaf page of an index b-tree
  const cell = page + file.readUInt16BE(page + 8);
  // Cell: payload size (one-byte varint), then the record: header size, serial types, values.
  expect(file[cell]! < 0x80).toBe(true);
  const headerSize = file[cell + 1]!;
  expect(file[cell + 2]).toBe(4); // the time, a 32-bit integer
  const time = cell + 1 + headerSize;
  file[time + 3] = file[time + 3]! ^ 1;
  writeFileSync(path, file);
}

describe("check", () => {
  test("all ok on a healthy root; names every damaged shard; refuses a missing root", async () => {
    const server = await serve({ root: join(scratch("ma-check-"), "dbs") });
    const root = server.root;
    // Enough rows that each of these shards spans many pages.
    const many = (month: string, prefix: string) =>
      Array.from({ length: 1500 }, (_, i) => ({
        time: `${month}-10T00:00:${String(i % 60).padStart(2, "0")}Z`,
        event: "pageview",
        path: `/${prefix}/${i}/${"x".repeat(60)}`,
        ip: `10.1.${i % 250}.${i % 7}`,
      }));
    for (const [site, month] of [
      ["a.example", "2016-01"],
      ["a.example", "2016-02"],
      ["b.example", "2016-01"],
    ] as const) {
      const bulk = await request(`${server.url}/${site}/bulk`, { body: { list: many(month, site) } });
      expect(bulk.status).toBe(200);
    }
    const small = Array.from({ length: 5 }, (_, i) => ({ time: 1452384000 + i * 60, path: `/small/${i}`, ip: "10.4.0.1" }));
    expect((await request(`${server.url}/c.example/bulk`, { body: { list: small } })).status).toBe(200);
    const shard = (site: string, month: string) => join(root, site, month, "analytics.db");

    // Safe while the service runs, and again once it has stopped.
    const live = await runCli(["check", "--root", root]);
    expect(live.exitCode).toBe(0);
    expect(live.stdout).toContain("all ok");
    await server.stop();
    const healthy = await runCli(["check", "--root", root]);
    expect(healthy.exitCode).toBe(0);
    expect(healthy.stdout).toContain("all ok");
    expect(healthy.stdout).not.toContain("DAMAGED");

    // One shard overwritten with garbage, another truncated to half its size.
    const garbage = shard("a.example", "2016-02");
    const truncated = shard("b.example", "2016-01");
    const intact = shard("a.example", "2016-01");
    for (const path of [garbage, truncated]) {
      expect(existsSync(`${path}-wal`) && statSync(`${path}-wal`).size > 0).toBe(false);
    }
    const bytes = new Uint8Array(statSync(garbage).size);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + 13) % 251;
    writeFileSync(garbage, bytes);
    truncateSync(truncated, Math.floor(statSync(truncated).size / 2));
    // And a damage every read still gets past: one entry of the time index no
    // longer matches its row. Only an integrity check sees it.
    const badIndex = shard("c.example", "2016-01");
    corruptOneIndexEntry(badIndex);
    expect(inspect(badIndex, (db) => db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM visits").get()?.n)).toBe(5);
    expect(inspect(badIndex, (db) => db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM visits WHERE path != ''").get()?.n)).toBe(5);

    const damaged = await runCli(["check", "--root", root]);
    expect(damaged.exitCode).toBe(1);
    const output = damaged.stdout + damaged.stderr;
    expect(output).toContain(garbage);
    expect(output).toContain(truncated);
    expect(output).toContain(badIndex);
    expect(output).toMatch(/\b3 damaged\b/);
    expect(output).not.toContain(`${intact}:`);
    expect(output).not.toContain("all ok");

    const missing = await runCli(["check", "--root", join(scratch(), "nothing-here")]);
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stdout + missing.stderr).toMatch(/no database directory|nothing-here/);
  }, SLOW);
});

describe("backup", () => {
  test("taken while the service ingests: holds every event acknowledged before it, restores as documented", async () => {
    const base = scratch("ma-backup-");
    // The same cache directory before and after the restore in place, as under systemd.
    const args = ["--cache-directory", join(base, "cache")];
    const server = await serve({ root: join(base, "dbs"), args });
    const root = server.root;
    const sites = ["alpha.example", "beta.example"];
    const months = ["2016-03", "2016-04"];
    const PER_SITE = 400;

    // Acknowledged before the backup starts: unique paths, two months per website.
    const ackedBefore = new Map<string, Set<string>>(sites.map((site) => [site, new Set()]));
    for (const site of sites) {
      const list = Array.from({ length: PER_SITE }, (_, i) => ({
        time: `${months[i % 2]}-05T10:${String(i % 60).padStart(2, "0")}:00Z`,
        event: "pageview",
        path: `/before/${site}/${i}`,
        ip: `10.2.0.${i % 200}`,
      }));
      const bulk = await request(`${server.url}/${site}/bulk`, { body: { list } });
      expect(bulk.status).toBe(200);
      expect(bulk.body).toEqual({ inserted: PER_SITE });
      for (const event of list) ackedBefore.get(site)!.add(event.path);
    }

    // Then the service keeps ingesting while the backup runs.
    const sentDuring = new Map<string, Set<string>>(sites.map((site) => [site, new Set()]));
    let ackedDuring = 0;
    let ingesting = true;
    const loop = (async () => {
      for (let i = 0; ingesting; i++) {
        const site = sites[i % 2]!;
        const list = Array.from({ length: 20 }, (_, j) => ({
          time: `${months[(i >> 1) % 2]}-06T11:00:${String(j).padStart(2, "0")}Z`,
          path: `/during/${site}/${i}/${j}`,
          ip: "10.3.0.1",
        }));
        for (const event of list) sentDuring.get(site)!.add(event.path);
        const response = await request(`${server.url}/${site}/bulk`, { body: { list } });
        if (response.status !== 200) throw new Error(`ingest during the backup: ${response.status} ${JSON.stringify(response.body)}`);
        ackedDuring += 20;
      }
    })();

    const dest = join(base, "backup");
    const result = await runCli(["backup", dest, "--root", root]);
    const ackedWhileBackingUp = ackedDuring;
    ingesting = false;
    await loop;
    // The backup really ran during ingest.
    expect(ackedWhileBackingUp).toBeGreaterThan(0);
    expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: "" });
    expect(result.stdout).toMatch(/\b4 of 4 shards\b/);
    expect(result.stdout).toMatch(/[\d.]+ MiB\b/);
    expect(result.stdout).toMatch(/[\d.]+ MiB\/s/);
    const liveCounts: Record<string, number> = {};
    for (const site of sites) {
      liveCounts[site] = (await request(`${server.url}/${site}/count`)).body.total;
      expect((await request(`${server.url}/${site}`)).body.list.length).toBe(liveCounts[site]);
    }
    await server.stop();

    // Only shards were copied, in the same layout.
    for (const site of sites) expect(readdirSync(join(dest, site)).sort()).toEqual(months);

    expect((await runCli(["check", "--root", dest])).exitCode).toBe(0);

    // The backup is a root: everything acknowledged before it began is there, nothing foreign, nothing twice.
    const restored = async (at: TestServer) => {
      const counts: Record<string, number> = {};
      for (const site of sites) {
        const count = await request(`${at.url}/${site}/count`);
        expect(count.status).toBe(200);
        counts[site] = count.body.total;
        const list = await request(`${at.url}/${site}`);
        expect(list.status).toBe(200);
        const paths: string[] = list.body.list.map((visit: { path: string }) => visit.path);
        expect(paths.length).toBe(count.body.total);
        expect(new Set(paths).size).toBe(paths.length);
        const missing = [...ackedBefore.get(site)!].filter((path) => !paths.includes(path));
        expect({ site, missing }).toEqual({ site, missing: [] });
        const foreign = paths.filter((path) => !ackedBefore.get(site)!.has(path) && !sentDuring.get(site)!.has(path));
        expect({ site, foreign }).toEqual({ site, foreign: [] });
        expect(count.body.total).toBeGreaterThanOrEqual(PER_SITE);
        expect(count.body.total).toBeLessThanOrEqual(liveCounts[site]!);
      }
      return counts;
    };
    const onDest = await serve({ root: dest });
    const backedUp = await restored(onDest);
    await onDest.stop();

    // Restore as documented: the tree copied into place of a (fresh) root.
    const fresh = join(base, "restored");
    cpSync(dest, fresh, { recursive: true });
    const onRestore = await serve({ root: fresh });
    expect(await restored(onRestore)).toEqual(backedUp);
    await onRestore.stop();

    // And in place of the original root, the service started again with its cache directory.
    rmSync(root, { recursive: true, force: true });
    cpSync(dest, root, { recursive: true });
    const inPlace = await serve({ root, args });
    expect(await restored(inPlace)).toEqual(backedUp);
    await inPlace.stop();

    // A destination that exists and is not empty is refused, and left as it was.
    const occupied = join(base, "occupied");
    mkdirSync(occupied);
    writeFileSync(join(occupied, "keep.txt"), "mine");
    const refused = await runCli(["backup", occupied, "--root", root]);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stdout + refused.stderr).toContain(occupied);
    expect(readdirSync(occupied)).toEqual(["keep.txt"]);
    expect(readFileSync(join(occupied, "keep.txt"), "utf8")).toBe("mine");
  }, SLOW);
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
    const root = join(scratch("ma-retention-"), "dbs");
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
    const server = await serve({ root });
    expect((await request(`${server.url}/${SITE}/count`)).body).toEqual({ total: BACKS.length * 2, unique: BACKS.length * 2 });
    const old = await request(`${server.url}/${SITE}`, {
      body: { time: monthBack(36).time, path: "/very-old" },
    });
    expect(old.status).toBe(200);
    await server.stop();
    expect(monthsOnDisk(root)).toEqual([...allMonths(), monthBack(36).month].sort());
  });

  test("a bad value is refused at start, and nothing is dropped", async () => {
    const root = buildRoot();
    for (const [args, env] of [
      [["--retention-months", "abc"], {}],
      [["--retention-months=-1"], {}],
      [[], { MA_RETENTION_MONTHS: "abc" }],
    ] as [string[], Record<string, string>][]) {
      const result = await runCli(["--host", "127.0.0.1", "--port", "0", "--root", root, ...args], env, 4_000);
      expect({ args, env, exitCode: result.exitCode === 0 ? 0 : "non-zero" }).toEqual({ args, env, exitCode: "non-zero" });
      expect(result.stdout).not.toContain("listening");
      expect(result.stderr).toMatch(/retention-months|MA_RETENTION_MONTHS/);
    }
    expect(monthsOnDisk(root)).toEqual(allMonths());
  }, SLOW);

  test("12: months before the window are dropped at start; events before it are refused, inside it stored", async () => {
    const root = buildRoot();
    const server = await serve({ root, args: ["--retention-months", "12"] });
    const kept = [0, 1, 3, 11].map((back) => monthBack(back).month).sort();
    const dropped = [12, 13, 24].map((back) => monthBack(back).month);
    expect(monthsOnDisk(root)).toEqual(kept);
    for (const month of dropped) expect(existsSync(join(root, SITE, month))).toBe(false);

    // The kept months still answer, each by itself and together.
    expect((await request(`${server.url}/${SITE}/count`)).body).toEqual({ total: 8, unique: 8 });
    for (const back of [0, 1, 3, 11]) {
      const { month } = monthBack(back);
      const start = `${month}-01T00:00:00Z`;
      const end = `${month}-28T23:59:59Z`;
      const count = await request(`${server.url}/${SITE}/count?start=${start}&end=${end}`);
      expect({ month, body: count.body }).toEqual({ month, body: { total: 2, unique: 2 } });
    }

    // The window starts at the first second of the month 11 before the current one.
    const now = new Date();
    const windowStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 11, 1) / 1000;
    const tooOld = await request(`${server.url}/${SITE}`, { body: { time: windowStart - 1, path: "/too-old" } });
    expect(tooOld.status).toBe(400);
    expect(tooOld.body.code).toBe("InvalidEvent");
    expect(tooOld.body.message).toMatch(/retention/);
    const ancient = await request(`${server.url}/${SITE}`, { body: { time: monthBack(13).time, path: "/ancient" } });
    expect(ancient.status).toBe(400);
    expect(ancient.body.code).toBe("InvalidEvent");
    // All or nothing: a bulk with one event before the window stores none.
    const mixed = await request(`${server.url}/${SITE}/bulk`, {
      body: { list: [{ time: Math.floor(Date.now() / 1000), path: "/mixed-new" }, { time: monthBack(24).time, path: "/mixed-old" }] },
    });
    expect(mixed.status).toBe(400);
    expect(mixed.body.code).toBe("InvalidEvent");
    expect(mixed.body.message).toContain("list[1].time");
    expect((await request(`${server.url}/${SITE}/count`)).body.total).toBe(8);
    for (const month of dropped) expect(existsSync(join(root, SITE, month))).toBe(false);

    const edge = await request(`${server.url}/${SITE}`, { body: { time: windowStart, path: "/edge", ip: "10.9.9.9" } });
    expect(edge.status).toBe(200);
    expect(edge.body).toEqual({ inserted: 1 });
    const recent = await request(`${server.url}/${SITE}`, { body: { time: monthBack(1).time, path: "/recent", ip: "10.9.9.8" } });
    expect(recent.status).toBe(200);
    expect((await request(`${server.url}/${SITE}/count`)).body).toEqual({ total: 10, unique: 10 });
    const paths = (await request(`${server.url}/${SITE}`)).body.list.map((visit: { path: string }) => visit.path);
    expect(paths).toContain("/edge");
    expect(paths).not.toContain("/too-old");
    expect(paths).not.toContain("/mixed-new");
    await server.stop();
    expect(monthsOnDisk(root)).toEqual(kept);
  });
});

describe("the command line", () => {
  test("--help lists the commands backup, check and migrate-platforms", async () => {
    const { exitCode, stdout } = await runCli(["--help"]);
    expect(exitCode).toBe(0);
    for (const command of ["serve", "backup", "check", "migrate-platforms"]) {
      expect({ command, listed: new RegExp(`^\\s+${command}\\b`, "m").test(stdout) }).toEqual({ command, listed: true });
    }
    expect(stdout).toMatch(/^\s+backup DEST\b/m);
  });

  test("an unknown command exits 2 with a message, and starts nothing", async () => {
    const root = join(scratch(), "dbs");
    const { exitCode, stdout, stderr } = await runCli(["foo", "--host", "127.0.0.1", "--port", "0", "--root", root], {}, 5_000);
    expect(exitCode).toBe(2);
    expect(stdout).not.toContain("listening");
    expect(stderr).toContain("foo");
    expect(stderr).toMatch(/command/);
    expect(existsSync(root)).toBe(false);
  });

  test("backup without a destination exits 2 with a message", async () => {
    const root = join(scratch(), "dbs");
    mkdirSync(root);
    const { exitCode, stderr } = await runCli(["backup", "--root", root], {}, 5_000);
    expect(exitCode).toBe(2);
    expect(stderr).toMatch(/backup/);
    expect(stderr).toMatch(/director|destination|DEST/i);
    expect(readdirSync(root)).toEqual([]);
  });

  test("backup of a missing root fails and writes nothing", async () => {
    const base = scratch();
    const dest = join(base, "copy");
    const { exitCode, stderr } = await runCli(["backup", dest, "--root", join(base, "no-root")], {}, 5_000);
    expect(exitCode).not.toBe(0);
    expect(stderr).toContain("no-root");
    expect(existsSync(dest)).toBe(false);
  });
});
