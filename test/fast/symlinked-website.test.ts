/**
 * A website directory may be a symbolic link to a directory elsewhere, on
 * another disk: the service reads and writes through it, DELETE removes its
 * months and the link, and retention deletes its old months in place.
 *
 * "Another disk" is a tmpfs mounted here, which needs root. Without it the
 * link leads to another directory of the same file system: everything but
 * the cross-device rename (EXDEV) is still tested, and the read-only case is skipped.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { monthOf } from "../../src/time";
import { openApp, type TestApp } from "../helpers/app";
import { inspect, writeOriginalShard } from "../helpers/files";
import { tempDir } from "../helpers/server";

const IS_ROOT = process.getuid?.() === 0;

function sh(args: string[]): boolean {
  return Bun.spawnSync(args, { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}

/** A directory on a file system of its own when the tests may mount one (see above). */
function otherDisk(): { dir: string; mounted: boolean; release(): void } {
  const dir = tempDir("ma-other-disk-");
  const mounted = IS_ROOT && sh(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", dir]);
  if (!mounted) console.log("symlinked website: no tmpfs (not root, or mount failed); the link stays on one file system");
  return {
    dir,
    mounted,
    release() {
      if (mounted) sh(["umount", "-l", dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const row = (time: number, path: string) => ({ time, event: "view", path, ip: "10.0.0.1", platform: "", refererDomain: "", countryCode: "" });
const now = Math.floor(Date.now() / 1000);
const thisMonth = monthOf(now);
const leftovers = (dir: string) => readdirSync(dir).filter((name) => name.startsWith(".deleting-"));

describe("a website directory that is a link to another disk", () => {
  const disk = otherDisk();
  const dir = tempDir("ma-symlink-");
  const root = join(dir, "dbs");
  const target = join(disk.dir, "big.example");
  let app: TestApp;

  beforeAll(async () => {
    mkdirSync(root, { recursive: true });
    mkdirSync(target);
    // The operator's own file beside the months (a mount point's lost+found, say): never ours to delete.
    writeFileSync(join(target, "README.operator"), "big.example lives here");
    symlinkSync(target, join(root, "big.example"));
    writeOriginalShard(root, "big.example", "2015-11", [row(1_448_370_000, "/old")]);
    writeOriginalShard(root, "big.example", thisMonth, [row(now - 60, "/kept")]);
    // Retention runs at start: the 2015 month is past a one-month window.
    app = await openApp(["--root", root, "--retention-months", "1"]);
  });
  afterAll(() => {
    app?.close();
    rmSync(dir, { recursive: true, force: true });
    disk.release();
  });

  test("retention at start deletes its old month in place, on its own disk, and keeps the rest", () => {
    expect(existsSync(join(target, "2015-11"))).toBe(false);
    expect(existsSync(join(target, thisMonth, "analytics.db"))).toBe(true);
    expect(lstatSync(join(root, "big.example")).isSymbolicLink()).toBe(true);
    expect(leftovers(root)).toEqual([]);
    expect(leftovers(target)).toEqual([]);
  });

  test("it is read and written through the link", async () => {
    expect(await app.request("/big.example", { body: { time: now - 30, event: "view", path: "/new", ip: "10.0.0.2" } })).toMatchObject({ status: 200 });
    expect((await app.request("/big.example/count")).body).toEqual({ total: 2, unique: 2 });
    const paths = inspect(join(target, thisMonth, "analytics.db"), (db) => db.query("SELECT path FROM visits ORDER BY rowid").values().flat());
    expect(paths).toEqual(["/kept", "/new"]);
  });

  test("DELETE removes its months and the link, and leaves the operator's directory and files", async () => {
    expect(await app.request("/big.example", { method: "DELETE" })).toMatchObject({ status: 200, body: { deleted: "big.example" } });
    expect(existsSync(join(root, "big.example"))).toBe(false);
    expect(readdirSync(target)).toEqual(["README.operator"]);
    expect(leftovers(root)).toEqual([]);
    expect((await app.request("/big.example/count")).status).toBe(404);
  });

  test("the website can be written again, now as a plain directory of the root", async () => {
    expect(await app.request("/big.example", { body: { time: now, path: "/again" } })).toMatchObject({ status: 200 });
    expect(lstatSync(join(root, "big.example")).isDirectory()).toBe(true);
    expect(readdirSync(target)).toEqual(["README.operator"]);
  });
});

describe("a month retention cannot delete (its disk is read-only)", () => {
  const disk = otherDisk();
  const dir = tempDir("ma-symlink-ro-");
  const root = join(dir, "dbs");
  let app: TestApp | undefined;

  afterAll(() => {
    app?.close();
    rmSync(dir, { recursive: true, force: true });
    disk.release();
  });

  test.skipIf(!disk.mounted)("is logged and kept: start-up goes on and every other website works", async () => {
    const target = join(disk.dir, "frozen.example");
    mkdirSync(root, { recursive: true });
    mkdirSync(target);
    symlinkSync(target, join(root, "frozen.example"));
    writeOriginalShard(root, "frozen.example", "2015-11", [row(1_448_370_000, "/old")]);
    writeOriginalShard(root, "other.example", "2015-11", [row(1_448_370_000, "/old")]);
    expect(sh(["mount", "-o", "remount,ro", disk.dir])).toBe(true);

    app = await openApp(["--root", root, "--retention-months", "1"]);
    expect(existsSync(join(target, "2015-11", "analytics.db"))).toBe(true);
    expect(existsSync(join(root, "other.example", "2015-11"))).toBe(false);
    expect(await app.request("/other.example", { body: { time: now, path: "/x" } })).toMatchObject({ status: 200 });
    expect(await app.request("/")).toMatchObject({ status: 200 });
  });
});

describe("deletions a crash left half done", () => {
  const dir = tempDir("ma-symlink-crash-");
  const root = join(dir, "dbs");
  const elsewhere = join(dir, "elsewhere");
  let app: TestApp | undefined;

  afterAll(() => {
    app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("are finished at start: a linked website's months and link, and a month being dropped", async () => {
    // A linked website whose DELETE was cut short after its link was moved aside.
    mkdirSync(join(elsewhere, "2015-11"), { recursive: true });
    writeFileSync(join(elsewhere, "2015-11", "analytics.db"), "");
    writeFileSync(join(elsewhere, "README.operator"), "");
    mkdirSync(root, { recursive: true });
    symlinkSync(elsewhere, join(root, ".deleting-1"));
    // A month whose deletion by retention was cut short.
    writeOriginalShard(root, "site.example", "2015-12", [row(1_449_000_000, "/kept")]);
    mkdirSync(join(root, "site.example", ".deleting-2"));
    writeFileSync(join(root, "site.example", ".deleting-2", "analytics.db"), "");

    app = await openApp(["--root", root]);
    expect(leftovers(root)).toEqual([]);
    expect(readdirSync(elsewhere)).toEqual(["README.operator"]);
    expect(readdirSync(join(root, "site.example"))).toEqual(["2015-12"]);
    expect((await app.request("/site.example/count")).body).toEqual({ total: 1, unique: 1 });
  });
});
