/**
 * Faults, for real: damaged shard files, a disk that fills, a read-only root.
 * (kill -9 and SIGTERM during ingest are in durability.test.ts.)
 *
 * Every server is a real process; nothing here imports src/. The disk-full and
 * read-only tests mount tmpfs file systems, so they need root; elsewhere they
 * are skipped with a reason.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  rmSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { cleanup, defer, scratch, tempDir } from "../helpers/cleanup";
import { request, runCli, startServer, type TestServer } from "../helpers/server";
import { TEST_MS, waitFor } from "../helpers/wait";

afterAll(cleanup);
setDefaultTimeout(TEST_MS);

const serve = startServer;

// ---------------------------------------------------------------------------
// Mounts (root only)

function sh(cmd: string[]): { ok: boolean; text: string } {
  const result = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  return { ok: result.exitCode === 0, text: `${result.stdout.toString()}${result.stderr.toString()}`.trim() };
}

/** Mounts `args` on `target`; every layer is lazily unmounted after the tests even if one fails midway. */
function mount(args: string[], target: string): void {
  const result = sh(["mount", ...args, target]);
  if (!result.ok) throw new Error(`mount ${args.join(" ")} ${target} failed: ${result.text}`);
  defer(() => sh(["umount", "-l", target]));
}

/** Changes the options of an existing mount (no new layer to unmount). */
function remount(options: string, target: string): void {
  const result = sh(["mount", "-o", `remount,${options}`, target]);
  if (!result.ok) throw new Error(`mount -o remount,${options} ${target} failed: ${result.text}`);
}

const IS_ROOT = process.getuid?.() === 0;

/** Why mount-based tests cannot run here, or undefined when they can. */
const cannotMount: string | undefined = (() => {
  if (!IS_ROOT) return "the tests do not run as root, so they cannot mount a tmpfs";
  const dir = tempDir("ma-mount-probe-");
  try {
    const result = sh(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]);
    if (!result.ok) return `mount -t tmpfs failed: ${result.text}`;
    sh(["umount", "-l", dir]);
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();
if (cannotMount) console.log(`faults: skipping the disk-full and read-only root tests: ${cannotMount}`);

// ---------------------------------------------------------------------------
// Small helpers

const unix = (iso: string) => Date.parse(iso) / 1000;

/** What a client must never see in an error: the server's paths, file names, stack frames, driver names. */
function expectNoLeak(message: unknown, root: string): void {
  expect(typeof message).toBe("string");
  const text = message as string;
  expect(text).not.toContain(root);
  expect(text).not.toContain("analytics.db");
  expect(text).not.toMatch(/\n\s*at |\bat .*:\d+:\d+/);
  expect(text).not.toMatch(/SQLite|ShardFault|malformed|not a database/i);
}

// ---------------------------------------------------------------------------
// 1. Damaged shard files

describe("a damaged shard", () => {
  const JAN = "2024-01-15T10:00:00Z";
  const FEB = "2024-02-10T10:00:00Z";
  const countries = ["fr", "de", "us", "jp"];
  /** b's events: the answers must stay exactly these while a and c are broken. */
  const bEvents = Array.from({ length: 12 }, (_, i) => ({
    time: unix(JAN) + i * 3600,
    event: "view",
    path: `/b/${i}`,
    ip: `10.0.1.${i % 5}`,
    countryCode: countries[i % 4],
  }));

  let root: string;
  let server: TestServer;
  let garbageFile: string;
  let truncatedFile: string;

  /** a: January overwritten with garbage; c: January truncated to half; b: healthy. */
  async function setUp() {
    root = join(scratch("ma-faults-shard-"), "dbs");
    const first = await startServer({ root });
    try {
      const bulk = async (website: string, list: object[]) => {
        const answer = await request(`${first.url}/${website}/bulk`, { body: { list } });
        expect(answer).toMatchObject({ status: 200, body: { inserted: list.length } });
      };
      await bulk("a.example", [
        ...Array.from({ length: 20 }, (_, i) => ({ time: unix(JAN) + i, event: "view", path: `/a/${i}`, ip: "10.0.0.1", countryCode: "fr" })),
        ...Array.from({ length: 5 }, (_, i) => ({ time: unix(FEB) + i, event: "view", path: `/a/feb/${i}`, ip: "10.0.0.2", countryCode: "de" })),
      ]);
      await bulk("b.example", bEvents);
      // Enough rows (table and index pages interleaved over ~1 MB) that half the file is lost for real.
      for (let part = 0; part < 4; part++) {
        await bulk(
          "c.example",
          Array.from({ length: 1000 }, (_, i) => ({
            time: unix(JAN) + (((part * 1000 + i) * 7919) % 86400),
            event: "view",
            path: `/c/${part}/${i}/${"x".repeat(150)}`,
            ip: `10.0.2.${i % 200}`,
          })),
        );
      }
    } finally {
      await first.stop();
    }

    garbageFile = join(root, "a.example", "2024-01", "analytics.db");
    truncatedFile = join(root, "c.example", "2024-01", "analytics.db");
    for (const file of [garbageFile, truncatedFile]) {
      // A clean stop checkpoints and removes the WAL: the main file is all there is.
      expect(existsSync(`${file}-wal`)).toBe(false);
    }
    const size = statSync(garbageFile).size;
    writeFileSync(garbageFile, randomBytes(size));
    const full = statSync(truncatedFile).size;
    expect(full).toBeGreaterThan(256 * 1024);
    truncateSync(truncatedFile, Math.floor(full / 2));

    server = await serve({ root });
  }

  beforeAll(setUp, 30_000);

  for (const [label, website, file] of [
    ["overwritten with garbage", "a.example", () => garbageFile],
    ["truncated to half its size", "c.example", () => truncatedFile],
  ] as const) {
    test(`${label}: the website's queries answer 500 InternalError without details, and the log names the file`, async () => {
      for (const route of ["count", "countries", "time", ""]) {
        const url = `${server.url}/${website}${route ? `/${route}` : ""}`;
        const answer = await request(url);
        expect({ route, status: answer.status, code: answer.body?.code }).toEqual({ route, status: 500, code: "InternalError" });
        expectNoLeak(answer.body.message, root);
      }
      await server.waitForOutput(file());
    });

    test(`${label}: a write to the damaged month fails cleanly and the service keeps answering`, async () => {
      const answer = await request(`${server.url}/${website}`, {
        body: { time: JAN, event: "view", path: "/after-damage", ip: "10.0.0.9" },
      });
      expect({ status: answer.status, code: answer.body?.code }).toEqual({ status: 500, code: "InsertFailed" });
      expectNoLeak(answer.body.message, root);
      await server.waitForOutput("insert failed");
      expect(await request(`${server.url}/`)).toMatchObject({ status: 200, body: { message: "Welcome to micro-analytics!" } });
    });
  }

  test("every other website keeps answering correctly", async () => {
    expect(await request(`${server.url}/b.example/count`)).toMatchObject({ status: 200, body: { total: 12, unique: 5 } });
    const byCountry = await request(`${server.url}/b.example/countries`);
    expect(byCountry.status).toBe(200);
    expect(byCountry.body.list.map((row: { id: string; total: number }) => [row.id, row.total])).toEqual([
      ["de", 3],
      ["fr", 3],
      ["jp", 3],
      ["us", 3],
    ]);
    const time = await request(`${server.url}/b.example/time`);
    expect(time).toMatchObject({ status: 200, body: { list: [{ start: "2024-01-15T00:00:00Z", total: 12 }] } });
    const list = await request(`${server.url}/b.example`);
    expect(list.status).toBe(200);
    expect(list.body.list.map((row: { path: string }) => row.path)).toEqual(bEvents.map((event) => event.path));
    // And it still takes writes.
    expect(await request(`${server.url}/b.example`, { body: { time: FEB, event: "view", path: "/b/new", ip: "10.0.1.9" } })).toMatchObject({
      status: 200,
      body: { inserted: 1 },
    });
    expect(await request(`${server.url}/b.example/count`)).toMatchObject({ status: 200, body: { total: 13 } });
  });
});

// ---------------------------------------------------------------------------
// 2. A full disk

test.skipIf(cannotMount !== undefined)(
  "a full disk fails writes with InsertFailed, loses nothing acknowledged, and recovers by itself when space returns",
  async () => {
    const root = scratch("ma-faults-full-");
    mount(["-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs"], root);
    const server = await serve({ root });
    const website = "full.example";
    const month = "2024-05-";
    let sent = 0;
    const batch = (n: number) =>
      Array.from({ length: n }, () => {
        const i = sent++;
        return {
          time: `${month}${String(1 + (i % 28)).padStart(2, "0")}T12:00:00Z`,
          event: "view",
          path: `/full/${i}/${"x".repeat(900)}`,
          ip: "10.0.0.1",
        };
      });

    const acked = new Set<string>();
    const post = async (list: ReturnType<typeof batch>) => {
      const answer = await request(`${server.url}/${website}/bulk`, { body: { list } });
      if (answer.status === 200) {
        expect(answer.body).toEqual({ inserted: list.length });
        for (const event of list) acked.add(event.path);
      }
      return answer;
    };

    // The shard exists before the disk fills.
    expect((await post(batch(1))).status).toBe(200);

    // Fill the file system, then give back a little room.
    const filler = join(root, ".filler");
    const fd = openSync(filler, "w");
    const chunk = Buffer.alloc(64 * 1024, 0x5a);
    let size = 0;
    try {
      for (;;) size += writeSync(fd, chunk);
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe("ENOSPC");
    }
    ftruncateSync(fd, Math.max(0, size - 256 * 1024));
    closeSync(fd);

    let failure: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i < 200 && !failure; i++) {
      const answer = await post(batch(50));
      if (answer.status !== 200) failure = answer;
    }
    expect(failure).toBeDefined();
    expect({ status: failure!.status, code: failure!.body?.code }).toEqual({ status: 500, code: "InsertFailed" });
    expectNoLeak(failure!.body.message, root);
    expect(acked.size).toBeGreaterThan(1);
    console.log(`disk full: ${acked.size} events acknowledged before the first InsertFailed`);

    // Still full: still a clean refusal, and the service keeps answering.
    const again = await post(batch(50));
    expect({ status: again.status, code: again.body?.code }).toEqual({ status: 500, code: "InsertFailed" });
    expect((await request(`${server.url}/`)).status).toBe(200);

    // Nothing acknowledged is lost, nothing refused was kept.
    expect(await request(`${server.url}/${website}/count`)).toMatchObject({ status: 200, body: { total: acked.size } });
    const stored = await request(`${server.url}/${website}`);
    expect(stored.status).toBe(200);
    expect(new Set(stored.body.list.map((row: { path: string }) => row.path))).toEqual(acked);

    // Space returns: writes succeed again without a restart.
    unlinkSync(filler);
    const before = acked.size;
    for (let i = 0; i < 3; i++) {
      const answer = await post(batch(50));
      expect({ status: answer.status, body: answer.body }).toEqual({ status: 200, body: { inserted: 50 } });
    }
    expect(acked.size).toBe(before + 150);
    expect(await request(`${server.url}/${website}/count`)).toMatchObject({ status: 200, body: { total: acked.size } });
    const after = await request(`${server.url}/${website}`);
    expect(after.body.list.length).toBe(acked.size);
    expect(new Set(after.body.list.map((row: { path: string }) => row.path))).toEqual(acked);
    await server.stop();
  },
);

// ---------------------------------------------------------------------------
// 3. A read-only root

describe.skipIf(cannotMount !== undefined)("a read-only root", () => {
  test("stops start-up with a non-zero exit and a message naming the root", async () => {
    const dir = scratch("ma-faults-ro-");
    mount(["-t", "tmpfs", "-o", "size=1m", "tmpfs"], dir);
    mkdirSync(join(dir, "existing"));
    remount("ro", dir);

    // The root exists on a read-only file system; root bypasses permission bits, not a read-only mount.
    for (const root of [join(dir, "existing"), join(dir, "missing")]) {
      const result = await runCli(["--host", "127.0.0.1", "--port", "0", "--root", root], {}, 10_000);
      const output = result.stdout + result.stderr;
      expect(output).not.toContain("listening on");
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toContain(root);
      expect(result.stderr).toMatch(/read-only/i);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  test("a running server whose root turns read-only reports it, refuses writes cleanly, and writes again when it turns back", async () => {
    const root = scratch("ma-faults-ro-live-");
    mount(["-t", "tmpfs", "-o", "size=8m", "tmpfs"], root);
    const server = await serve({ root, args: ["--idle-timeout", "1"] });
    const event = (path: string) => ({ time: "2024-06-01T12:00:00Z", event: "view", path, ip: "10.0.0.1" });

    expect(await request(`${server.url}/ro.example`, { body: event("/1") })).toMatchObject({ status: 200, body: { inserted: 1 } });
    expect(await request(`${server.url}/_health`)).toMatchObject({ status: 200, body: { writable: true } });

    // The server keeps its lock file open for writing, so the kernel refuses
    // `remount,ro` of this very mount (EBUSY). A read-only bind mount of the
    // root over itself turns every new lookup under the root read-only, as a
    // remount would. Handles opened before it would still write underneath,
    // so wait until the pool has closed the shard (--idle-timeout 1).
    await waitFor("the pool to close the shard", async () => {
      const metrics = await fetch(`${server.url}/_metrics`).then((r) => r.text());
      return /^micro_analytics_shards_open 0$/m.test(metrics);
    });
    mount(["--bind", root], root);
    remount("bind,ro", root);
    try {
      const health = await request(`${server.url}/_health`);
      expect({ status: health.status, writable: health.body?.writable }).toEqual({ status: 503, writable: false });

      // An existing month shard, and a website that does not exist yet.
      for (const website of ["ro.example", "new.example"]) {
        const answer = await request(`${server.url}/${website}`, { body: event(`/refused-${website}`) });
        expect({ website, status: answer.status, code: answer.body?.code }).toEqual({ website, status: 500, code: "InsertFailed" });
        expectNoLeak(answer.body.message, root);
      }
      expect(await request(`${server.url}/`)).toMatchObject({ status: 200 });
      // Reading while read-only (a dashboard would): the answer is the data, or a clean 500.
      const reading = await request(`${server.url}/ro.example/count`);
      console.log(`read-only root: GET /ro.example/count answered ${reading.status} ${JSON.stringify(reading.body)}`);
      expect([200, 500]).toContain(reading.status);
      if (reading.status === 200) expect(reading.body.total).toBe(1);
    } finally {
      remount("bind,rw", root);
    }

    // Writable again: the very next writes succeed, without a restart.
    expect(await request(`${server.url}/_health`)).toMatchObject({ status: 200, body: { writable: true } });
    expect(await request(`${server.url}/ro.example`, { body: event("/2") })).toMatchObject({ status: 200, body: { inserted: 1 } });
    expect(await request(`${server.url}/new.example`, { body: event("/3") })).toMatchObject({ status: 200, body: { inserted: 1 } });
    expect(await request(`${server.url}/ro.example/count`)).toMatchObject({ status: 200, body: { total: 2 } });
    expect(await request(`${server.url}/new.example/count`)).toMatchObject({ status: 200, body: { total: 1 } });
    await server.stop();
  });
});
