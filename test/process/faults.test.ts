/**
 * Faults and shutdown, for real: damaged shard files, a disk that fills, a
 * read-only root, kill -9 during ingest, SIGTERM during a bulk ingest.
 *
 * Every server is a real process (the sources, or MA_TEST_SERVER's binary);
 * nothing here imports src/. The disk-full and read-only tests mount tmpfs
 * file systems, so they need root; elsewhere they are skipped with a reason.
 * The kill loop is seeded: MA_FAULTS_SEED=<seed> replays a run's choices.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { request, runCli, serverCommand, startServer, tempDir, type TestServer } from "../helpers/server";
import { seededRandom } from "../helpers/random";

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (error) {
      console.log(`faults: cleanup failed: ${(error as Error).message}`);
    }
  }
});

/** A temporary directory removed after the file's tests (after any mount on it is gone). */
function scratch(prefix: string): string {
  const dir = tempDir(prefix);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function serve(options: Parameters<typeof startServer>[0] = {}): Promise<TestServer> {
  const server = await startServer(options);
  cleanups.push(() => server.stop());
  return server;
}

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
  cleanups.push(() => sh(["umount", "-l", target]));
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

/** Polls `check` until it holds or `ms` pass; answers whether it held. */
async function eventually(check: () => boolean | Promise<boolean>, ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await Bun.sleep(20);
  }
}

/** Every `analytics.db` under a root. */
function shardFiles(root: string): string[] {
  const files: string[] = [];
  for (const website of readdirSync(root, { withFileTypes: true })) {
    if (!website.isDirectory()) continue;
    for (const month of readdirSync(join(root, website.name), { withFileTypes: true })) {
      const file = join(root, website.name, month.name, "analytics.db");
      if (month.isDirectory() && existsSync(file)) files.push(file);
    }
  }
  return files.sort();
}

function integrity(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    return db
      .query<{ integrity_check: string }, []>("PRAGMA integrity_check")
      .all()
      .map((row) => row.integrity_check)
      .join("; ");
  } finally {
    db.close();
  }
}

/** What a client must never see in an error: the server's paths, file names, stack frames, driver names. */
function expectNoLeak(message: unknown, root: string): void {
  expect(typeof message).toBe("string");
  const text = message as string;
  expect(text).not.toContain(root);
  expect(text).not.toContain("analytics.db");
  expect(text).not.toMatch(/\n\s*at |\bat .*:\d+:\d+/);
  expect(text).not.toMatch(/SQLite|ShardFault|malformed|not a database/i);
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

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
            time: unix(JAN) + ((part * 1000 + i) * 7919) % 86400,
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
      const named = await eventually(() => server.output().includes(file()));
      if (!named) console.log(`server output:\n${server.output()}`);
      expect(named).toBe(true);
    });

    test(`${label}: a write to the damaged month fails cleanly and the service keeps answering`, async () => {
      const answer = await request(`${server.url}/${website}`, {
        body: { time: JAN, event: "view", path: "/after-damage", ip: "10.0.0.9" },
      });
      expect({ status: answer.status, code: answer.body?.code }).toEqual({ status: 500, code: "InsertFailed" });
      expectNoLeak(answer.body.message, root);
      expect(await eventually(() => server.output().includes("insert failed"))).toBe(true);
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
        return { time: `${month}${String(1 + (i % 28)).padStart(2, "0")}T12:00:00Z`, event: "view", path: `/full/${i}/${"x".repeat(900)}`, ip: "10.0.0.1" };
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
    const closed = await eventually(async () => {
      const metrics = await fetch(`${server.url}/_metrics`).then((r) => r.text());
      return /^micro_analytics_shards_open 0$/m.test(metrics);
    }, 5000);
    expect(closed).toBe(true);
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

// ---------------------------------------------------------------------------
// 4. kill -9 at random moments during ingest

const KILL_ROUNDS = 20;
const KILL_CLIENTS = 10;
const KILL_WEBSITES = ["kill-a.example", "kill-b.example"];
/** Events fall in three months, so each website has three shards to damage. */
const KILL_FROM = unix("2024-01-01T00:00:00Z");
const KILL_SPAN = unix("2024-04-01T00:00:00Z") - KILL_FROM;

test(
  `kill -9 at random moments during ingest, ${KILL_ROUNDS} times on the same root: every acknowledged event is there once, every shard is intact`,
  async () => {
    const seed = Number(process.env.MA_FAULTS_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`kill -9 loop: seed ${seed} (replay with MA_FAULTS_SEED=${seed})`);
    const random = seededRandom(seed);
    const root = join(scratch("ma-faults-kill-"), "dbs");

    /** Paths answered 200: each must be stored exactly once. */
    const acked = new Set<string>();
    /** Paths whose request was cut by the kill: stored or not, but never twice. */
    const unsure = new Set<string>();
    /** Anything but a 200 or a cut connection while the server was alive. */
    const wrong: string[] = [];
    let requests = 0;
    let kills = 0;

    const counts = async (server: TestServer) => {
      let total = 0;
      for (const website of KILL_WEBSITES) {
        const answer = await request(`${server.url}/${website}/count`);
        if (answer.status === 404) continue;
        expect(answer.status).toBe(200);
        total += answer.body.total;
      }
      return total;
    };

    for (let round = 0; round < KILL_ROUNDS; round++) {
      const server = await startServer({ root });
      try {
        // What the last kill left must hold every acknowledged event.
        const total = await counts(server);
        if (total < acked.size || total > acked.size + unsure.size) {
          throw new Error(`round ${round}: ${total} events stored, but ${acked.size} were acknowledged and ${unsure.size} more cut by a kill`);
        }

        let killed = false;
        const clients = Array.from({ length: KILL_CLIENTS }, async (_, client) => {
          const draw = seededRandom(seed ^ (round * 7919 + client * 104729 + 1));
          let n = 0;
          while (!killed) {
            const website = KILL_WEBSITES[Math.floor(draw() * KILL_WEBSITES.length)]!;
            const size = draw() < 0.3 ? 1 : 10 + Math.floor(draw() * 41);
            const events = Array.from({ length: size }, () => ({
              time: KILL_FROM + Math.floor(draw() * KILL_SPAN),
              event: "view",
              path: `/k/${round}/${client}/${n++}`,
              ip: `10.1.${client}.${Math.floor(draw() * 250)}`,
            }));
            const single = size === 1 && draw() < 0.5;
            requests++;
            let status = 0;
            let body: any;
            try {
              const response = await fetch(`${server.url}/${website}${single ? "" : "/bulk"}`, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify(single ? events[0] : { list: events }),
              });
              status = response.status;
              body = await response.json();
            } catch {
              // Cut by the kill: the events may or may not have been committed.
              for (const event of events) unsure.add(event.path);
              continue;
            }
            if (status === 200 && body?.inserted === size) {
              for (const event of events) acked.add(event.path);
            } else {
              wrong.push(`round ${round}: ${status} ${JSON.stringify(body)}`);
              for (const event of events) unsure.add(event.path);
            }
          }
        });

        await Bun.sleep(100 + Math.floor(random() * 300));
        process.kill(server.pid, "SIGKILL");
        kills++;
        killed = true;
        await Promise.all(clients);
      } finally {
        await server.stop();
      }
      // The files as the kill left them (WAL included) are intact.
      for (const file of shardFiles(root)) expect(`${file}: ${integrity(file)}`).toBe(`${file}: ok`);
    }

    expect(wrong).toEqual([]);
    expect(kills).toBe(KILL_ROUNDS);

    const server = await startServer({ root });
    try {
      const seen = new Map<string, number>();
      for (const website of KILL_WEBSITES) {
        const answer = await request(`${server.url}/${website}`);
        expect(answer.status).toBe(200);
        for (const row of answer.body.list as { path: string }[]) seen.set(row.path, (seen.get(row.path) ?? 0) + 1);
      }
      const missing = [...acked].filter((path) => seen.get(path) !== 1);
      const twice = [...seen].filter(([, n]) => n > 1).map(([path]) => path);
      const invented = [...seen.keys()].filter((path) => !acked.has(path) && !unsure.has(path));
      expect({ missing: missing.slice(0, 10), twice: twice.slice(0, 10), invented: invented.slice(0, 10) }).toEqual({
        missing: [],
        twice: [],
        invented: [],
      });
      const cutButStored = [...unsure].filter((path) => seen.has(path)).length;
      console.log(
        `kill -9 loop: ${kills} kills, ${requests} requests, ${acked.size} events acknowledged and all present once; ` +
          `${unsure.size} cut by a kill (${cutButStored} of them committed)`,
      );
    } finally {
      await server.stop();
    }
    const files = shardFiles(root);
    expect(files.length).toBe(KILL_WEBSITES.length * 3);
    for (const file of files) expect(`${file}: ${integrity(file)}`).toBe(`${file}: ok`);
  },
  60_000,
);

// ---------------------------------------------------------------------------
// 5. SIGTERM during a bulk ingest

/** A server this test owns outright, to see its exit code and time its exit. */
async function spawnServer(root: string) {
  const proc = Bun.spawn([...serverCommand(), "--host", "127.0.0.1", "--port", "0", "--root", root], {
    cwd: scratch("ma-faults-cwd-"),
    env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("MA_") && name !== "PORT")) as Record<string, string>,
    stdout: "pipe",
    stderr: "pipe",
  });
  cleanups.push(() => {
    if (proc.exitCode === null) proc.kill("SIGKILL");
  });
  let output = "";
  for (const stream of [proc.stdout, proc.stderr]) {
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
    })();
  }
  const started = await eventually(() => /listening on http:\/\/\S*?:\d+/.test(output) || proc.exitCode !== null, 15_000);
  const port = /listening on http:\/\/\S*?:(\d+)/.exec(output)?.[1];
  if (!started || !port) throw new Error(`server did not start:\n${output}`);
  return { proc, url: `http://127.0.0.1:${port}`, output: () => output };
}

test("SIGTERM during a bulk ingest: every request in flight is answered, the process exits 0 in time, nothing acknowledged is lost", async () => {
  const root = join(scratch("ma-faults-term-"), "dbs");
  const { proc, url, output } = await spawnServer(root);
  const website = "term.example";
  const REQUESTS = 20;
  /** The first STREAMED requests are surely in flight at the signal: half their body is sent before it, the rest after. */
  const STREAMED = 10;
  const EVENTS = 1000;
  const from = unix("2024-07-01T00:00:00Z");
  const bodyOf = (r: number) =>
    new TextEncoder().encode(
      JSON.stringify({
        list: Array.from({ length: EVENTS }, (_, i) => ({
          time: from + r * EVENTS + i,
          event: "download",
          path: `/t/${r}/${i}`,
          ip: `10.2.${r}.${i % 250}`,
        })),
      }),
    );

  type Outcome = { request: number; status: number; inserted?: number } | { request: number; error: string };
  const send = async (r: number, body: ReadableStream<Uint8Array> | Uint8Array): Promise<Outcome> => {
    try {
      const response = await fetch(`${url}/${website}/bulk`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        // Fresh connections: a refusal is then the listener's answer, not a pooled socket's.
        keepalive: false,
        // A request never answered is a failure, not a hung test.
        signal: AbortSignal.timeout(15_000),
      });
      const text = await response.text();
      let inserted: number | undefined;
      try {
        inserted = JSON.parse(text).inserted;
      } catch {
        // Reported through `bad` below.
      }
      return { request: r, status: response.status, inserted };
    } catch (error) {
      const e = error as { code?: string; name?: string; message?: string };
      return { request: r, error: `${e.code ?? e.name}: ${e.message}` };
    }
  };

  const rests: (() => void)[] = [];
  const outcomes: Promise<Outcome>[] = [];
  for (let r = 0; r < STREAMED; r++) {
    const bytes = bodyOf(r);
    const half = Math.floor(bytes.length / 2);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.subarray(0, half));
        rests.push(() => {
          controller.enqueue(bytes.subarray(half));
          controller.close();
        });
      },
    });
    outcomes.push(send(r, stream));
  }
  // Loopback: by now every streamed request has connected and sent its head and half its body.
  await Bun.sleep(300);
  const bodies = Array.from({ length: REQUESTS - STREAMED }, (_, k) => bodyOf(STREAMED + k));
  for (let r = STREAMED; r < REQUESTS; r++) outcomes.push(send(r, bodies[r - STREAMED]!));
  const sentAt = performance.now();
  proc.kill("SIGTERM");
  for (const rest of rests) rest();
  const exitCode = await Promise.race([proc.exited, Bun.sleep(15_000).then(() => "hung" as const)]);
  const exitMs = Math.round(performance.now() - sentAt);
  const results = await Promise.all(outcomes);
  const stoppedIn = /stopped in (\d+) ms/.exec(output())?.[1];
  const refused = results.filter((o) => "error" in o);
  console.log(
    `SIGTERM under load: exit ${exitCode} ${exitMs} ms after the signal (the service logged "stopped in ${stoppedIn} ms"); ` +
      `${REQUESTS - refused.length} of ${REQUESTS} bulk requests of ${EVENTS} events answered, ${refused.length} refused`,
  );

  expect(exitCode).toBe(0);
  expect(exitMs).toBeLessThan(10_000);
  expect(stoppedIn).toBeDefined();
  // Each request: a 200 for all its events, or a connection refused because it came after the listener
  // closed. One the kernel had queued but the service had not yet taken is reset when the listener closes:
  // also never seen by the service, and counted below as not stored. The streamed ones were in flight: 200 only.
  const bad = results.filter((o) =>
    "status" in o ? o.status !== 200 || o.inserted !== EVENTS : o.request < STREAMED || !/ConnectionRefused|ECONNREFUSED|ECONNRESET/i.test(o.error),
  );
  expect(bad).toEqual([]);

  // Shards closed cleanly: the WAL was checkpointed into the main file.
  for (const file of shardFiles(root)) {
    expect(existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0).toBe(0);
    expect(integrity(file)).toBe("ok");
  }

  const acked = sum(results.map((o) => ("status" in o && o.status === 200 ? o.inserted! : 0)));
  expect(acked).toBeGreaterThanOrEqual(STREAMED * EVENTS);
  const server = await serve({ root });
  expect(await request(`${server.url}/${website}/count`)).toMatchObject({ status: 200, body: { total: acked } });
  await server.stop();
});
