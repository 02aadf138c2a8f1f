import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import type { Subprocess } from "bun";
import { existsSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { request, runCli, startServer, tempDir, type TestServer } from "../helpers/server";
import { openPaths } from "../helpers/files";
import { seededRandom } from "../helpers/random";

/**
 * Durability and concurrency, seen from outside: real server processes on
 * real SQLite files, killed (-9) or stopped (SIGTERM) while clients write,
 * then restarted on the same root and read back over HTTP.
 */
const onLinux = process.platform === "linux";

const scratch: string[] = [];
/** A temporary root that outlives the servers started on it; removed after the file. */
function newRoot(): string {
  const dir = tempDir("ma-durability-");
  scratch.push(dir);
  return join(dir, "dbs");
}

/** Servers this file spawned itself (to see their exit code); killed by handle if a test fails half-way. */
const spawned = new Set<Subprocess>();

afterAll(() => {
  for (const proc of spawned) if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** A server whose process is tracked, so a test failing half-way never leaves it running. */
async function launch(root: string, args: string[] = []): Promise<TestServer> {
  const server = await startServer({ root, args });
  spawned.add(server.proc);
  return server;
}

/** SIGTERM, then the exit code. */
async function terminate(server: TestServer): Promise<number> {
  server.proc.kill("SIGTERM");
  return await server.proc.exited;
}

/** Runs `task(0..count-1)` with at most `concurrency` in flight. */
async function inParallel(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(count, concurrency) }, worker));
}

/** RFC 3339 to the second, as the service answers times. */
const rfc3339 = (seconds: number) => new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
const monthOf = (seconds: number) => rfc3339(seconds).slice(0, 7);

/** Every `analytics.db` under a root: `<root>/<website>/<YYYY-MM>/analytics.db`. */
function shardFiles(root: string): string[] {
  const files: string[] = [];
  for (const website of readdirSync(root)) {
    const dir = join(root, website);
    if (!statSync(dir).isDirectory()) continue;
    for (const month of readdirSync(dir)) {
      const file = join(dir, month, "analytics.db");
      if (existsSync(file)) files.push(file);
    }
  }
  return files.sort();
}

function integrity(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    return db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").all().map((row) => row.integrity_check).join("\n");
  } finally {
    db.close();
  }
}

const isShardFile = (path: string) => /(^|\/)analytics\.db( \(deleted\))?$/.test(path);

async function countOf(url: string, website: string): Promise<{ total: number; unique: number }> {
  const answer = await request(`${url}/${website}/count`);
  expect(answer.status).toBe(200);
  return answer.body;
}

// ---------------------------------------------------------------------------

interface SentEvent {
  website: string;
  path: string;
  time: number;
  event: string;
  request: SentRequest;
}

interface SentRequest {
  id: string;
  website: string;
  events: SentEvent[];
  /** in-flight: sent, and no complete answer came (the server died, or never saw it). */
  state: "in-flight" | "acked" | "refused";
  answer?: string;
}

describe.skipIf(!onLinux)("kill -9 during ingest", () => {
  const WEBSITES = ["kill-a.example", "kill-b.example", "kill-c.example"];
  const CLIENTS = 20;
  const LOAD_MS = 1_500;
  /** 2015-11-01T00:00:00Z to 2015-12-31T23:59:59Z: two month shards per website. */
  const FROM = Date.UTC(2015, 10, 1) / 1000;
  const SPAN = Date.UTC(2016, 0, 1) / 1000 - FROM;

  test("three kill cycles on one root: every acknowledged event is stored once, nothing unsent appears, shards stay intact", async () => {
    const root = newRoot();
    const byPath = new Map<string, SentEvent>();
    const requests: SentRequest[] = [];
    const rand = seededRandom(42);

    for (let cycle = 0; cycle < 3; cycle++) {
      const server = await launch(root);
      let killed = false;

      const client = async (c: number) => {
        for (let seq = 0; !killed; seq++) {
          const website = WEBSITES[Math.floor(rand() * WEBSITES.length)]!;
          const bulk = rand() < 0.2;
          const size = bulk ? 10 + Math.floor(rand() * 41) : 1;
          const req: SentRequest = { id: `k${cycle}-c${c}-${seq}`, website, events: [], state: "in-flight" };
          for (let i = 0; i < size; i++) {
            const event: SentEvent = {
              website,
              path: `/k${cycle}-c${c}-${seq}-${i}`,
              time: FROM + Math.floor(rand() * SPAN),
              event: bulk ? "bulk" : "single",
              request: req,
            };
            req.events.push(event);
            byPath.set(event.path, event);
          }
          const wire = req.events.map((e) => ({ time: rfc3339(e.time), event: e.event, path: e.path, ip: `10.1.${c}.${seq % 250}` }));
          requests.push(req);
          try {
            const response = await fetch(bulk ? `${server.url}/${website}/bulk` : `${server.url}/${website}`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify(bulk ? { list: wire } : wire[0]),
            });
            const text = await response.text();
            req.answer = `${response.status} ${text}`;
            // Acknowledged: a 200 that says every event of the request was inserted.
            if (response.status === 200 && text === JSON.stringify({ inserted: size })) req.state = "acked";
            else req.state = "refused";
          } catch {
            // The connection died with the server (or was refused after it): left in flight.
          }
        }
      };

      // One bulk per website whose body stops half-way: certainly in flight when the kill
      // comes, whatever the timing of the others. Nothing of it may be stored.
      const stalled = WEBSITES.map((website, w) => {
        const req: SentRequest = { id: `k${cycle}-stall-${w}`, website, events: [], state: "in-flight" };
        for (let i = 0; i < 20; i++) {
          const event: SentEvent = { website, path: `/k${cycle}-stall${w}-${i}`, time: FROM + Math.floor(rand() * SPAN), event: "stalled", request: req };
          req.events.push(event);
          byPath.set(event.path, event);
        }
        requests.push(req);
        const text = JSON.stringify({ list: req.events.map((e) => ({ time: rfc3339(e.time), event: e.event, path: e.path })) });
        let cut!: (reason: unknown) => void;
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(text.slice(0, text.length >> 1)));
            cut = (reason) => controller.error(reason);
          },
        });
        const done = fetch(`${server.url}/${website}/bulk`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          duplex: "half",
        } as RequestInit).then(
          async (response) => {
            req.answer = `${response.status} ${await response.text()}`;
            req.state = "refused";
          },
          () => {},
        );
        return { req, done, cut: () => cut(new Error("killed")) };
      });

      const clients = Array.from({ length: CLIENTS }, (_, c) => client(c));
      await Bun.sleep(LOAD_MS);
      process.kill(server.pid, "SIGKILL");
      killed = true;
      await Promise.all(clients);
      await server.proc.exited;
      expect(server.proc.signalCode).toBe("SIGKILL");
      for (const { cut } of stalled) cut();
      await Promise.all(stalled.map(({ done }) => done));

      const thisCycle = requests.filter((r) => r.id.startsWith(`k${cycle}-`));
      // No request was turned away: every answer that came was a full acknowledgement.
      expect(thisCycle.filter((r) => r.state === "refused").map((r) => r.answer)).toEqual([]);
      // The load was real, and the half-sent requests got no answer.
      expect(thisCycle.filter((r) => r.state === "acked").length).toBeGreaterThan(100);
      expect(stalled.map(({ req }) => req.state)).toEqual(WEBSITES.map(() => "in-flight"));

      // Restart on the same root: the SIGKILLed process's lock is gone with it.
      const after = await launch(root);
      const seen = new Map<string, number>();
      const strangers: string[] = [];
      for (const website of WEBSITES) {
        const list = await request(`${after.url}/${website}`);
        expect(list.status).toBe(200);
        const visits = list.body.list as { time: string; event: string; path: string }[];
        for (const visit of visits) {
          seen.set(visit.path, (seen.get(visit.path) ?? 0) + 1);
          // Every stored event was sent, to this website, with this time: nothing invented, nothing garbled.
          const sent = byPath.get(visit.path);
          if (!sent) strangers.push(`${website}${visit.path}: never sent`);
          else if (sent.website !== website || rfc3339(sent.time) !== visit.time || sent.event !== visit.event) {
            strangers.push(`${website}${visit.path} ${visit.time} ${visit.event}: sent to ${sent.website} ${rfc3339(sent.time)} ${sent.event}`);
          }
        }
        // The count route agrees with the list.
        expect((await countOf(after.url, website)).total).toBe(visits.length);
      }
      expect(strangers).toEqual([]);

      // No event is stored twice.
      expect([...seen].filter(([, n]) => n > 1)).toEqual([]);
      // Every acknowledged event, of this cycle and the ones before, is there.
      const lost = requests.filter((r) => r.state === "acked").flatMap((r) => r.events.filter((e) => !seen.has(e.path)).map((e) => e.path));
      expect(lost).toEqual([]);
      // A request that was in flight is, within each month shard, all there or not at all.
      const halfWritten: string[] = [];
      for (const req of requests.filter((r) => r.state === "in-flight")) {
        for (const [month, events] of Map.groupBy(req.events, (e) => monthOf(e.time))) {
          const stored = events.filter((e) => seen.has(e.path)).length;
          if (stored !== 0 && stored !== events.length) halfWritten.push(`${req.id} ${month}: ${stored}/${events.length}`);
        }
      }
      expect(halfWritten).toEqual([]);
      // A body cut off by the kill left nothing behind.
      expect(stalled.flatMap(({ req }) => req.events.filter((e) => seen.has(e.path)).map((e) => e.path))).toEqual([]);

      expect(await terminate(after)).toBe(0);
      const shards = shardFiles(root);
      expect(shards.length).toBe(WEBSITES.length * 2);
      for (const shard of shards) expect([shard, integrity(shard)]).toEqual([shard, "ok"]);
    }
  }, 30_000);
});

// ---------------------------------------------------------------------------

describe("concurrent writes give exact counts", () => {
  test("2,000 single events, 50 in flight, to one website", async () => {
    const server = await startServer();
    try {
      const answers = new Map<string, number>();
      await inParallel(2_000, 50, async (i) => {
        const { status, body } = await request(`${server.url}/one.example`, {
          body: { time: 1448370000 + i, event: "view", path: `/p${i}`, ip: `10.2.${i >> 8}.${i & 255}` },
        });
        const key = `${status} ${JSON.stringify(body)}`;
        answers.set(key, (answers.get(key) ?? 0) + 1);
      });
      expect(Object.fromEntries(answers)).toEqual({ '200 {"inserted":1}': 2_000 });
      expect(await countOf(server.url, "one.example")).toEqual({ total: 2_000, unique: 2_000 });
    } finally {
      await server.stop();
    }
  });

  test("2,000 single events, 50 in flight, over 20 websites with different counts", async () => {
    const server = await startServer();
    try {
      // Website w gets 5 + 10w events: 5, 15, …, 195; 2,000 in all, interleaved.
      const expected = Array.from({ length: 20 }, (_, w) => 5 + 10 * w);
      const order = expected.flatMap((n, w) => Array.from({ length: n }, () => w));
      const rand = seededRandom(7);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      expect(order.length).toBe(2_000);

      let ok = 0;
      await inParallel(order.length, 50, async (i) => {
        const { status, body } = await request(`${server.url}/many-${order[i]}.example`, {
          body: { time: "2015-11-24T13:00:00Z", event: "view", path: `/p${i}`, ip: `10.3.${i >> 8}.${i & 255}` },
        });
        if (status === 200 && body.inserted === 1) ok++;
      });
      expect(ok).toBe(2_000);
      const counts = await Promise.all(expected.map((_, w) => countOf(server.url, `many-${w}.example`)));
      expect(counts.map((c) => c.total)).toEqual(expected);
      expect(counts.map((c) => c.unique)).toEqual(expected);
    } finally {
      await server.stop();
    }
  });

  test("40 bulks of 100 mixed with 1,000 singles, all at once", async () => {
    const server = await startServer();
    try {
      // 40 bulks and 1,000 singles, interleaved: a bulk every 26th request.
      const jobs: ("bulk" | "single")[] = [];
      for (let i = 0; i < 1_040; i++) jobs.push(i % 26 === 0 ? "bulk" : "single");
      expect(jobs.filter((j) => j === "bulk").length).toBe(40);
      let inserted = 0;
      let ok = 0;
      await inParallel(jobs.length, 50, async (i) => {
        const at = (k: number) => ({ time: 1446336000 + i * 1000 + k * 37_000, event: jobs[i]!, path: `/j${i}-${k}` });
        const { status, body } =
          jobs[i] === "bulk"
            ? await request(`${server.url}/mixed.example/bulk`, { body: { list: Array.from({ length: 100 }, (_, k) => at(k)) } })
            : await request(`${server.url}/mixed.example`, { body: at(0) });
        if (status === 200) {
          ok++;
          inserted += body.inserted;
        }
      });
      expect(ok).toBe(1_040);
      expect(inserted).toBe(5_000);
      expect((await countOf(server.url, "mixed.example")).total).toBe(5_000);
      const events = await request(`${server.url}/mixed.example/events`);
      expect(events.body.list.map((e: { id: string; total: number }) => [e.id, e.total])).toEqual([
        ["bulk", 4_000],
        ["single", 1_000],
      ]);
    } finally {
      await server.stop();
    }
  });
});

// ---------------------------------------------------------------------------

describe("one process per root", () => {
  test("a second instance on the same root refuses to start; the first keeps answering; the root is free once it stops", async () => {
    const root = newRoot();
    const first = await startServer({ root });
    let stopped = false;
    try {
      expect((await request(`${first.url}/lock.example`, { body: { time: "2015-11-24T13:00:00Z", path: "/1" } })).status).toBe(200);

      const started = performance.now();
      const second = await runCli(["--root", root, "--port", "0", "--host", "127.0.0.1"], {}, 10_000);
      const elapsed = performance.now() - started;
      expect(second.exitCode).not.toBe(0);
      expect(elapsed).toBeLessThan(5_000);
      const said = second.stdout + second.stderr;
      expect(said).toContain(root);
      expect(said).toMatch(/in use/i);
      expect(said).not.toMatch(/listening on/);

      // The first is untouched: it still reads and writes.
      expect((await request(`${first.url}/lock.example`, { body: { time: "2015-11-24T13:00:01Z", path: "/2" } })).status).toBe(200);
      expect(await countOf(first.url, "lock.example")).toEqual({ total: 2, unique: 1 });

      await first.stop();
      stopped = true;
      const next = await startServer({ root });
      try {
        expect(await countOf(next.url, "lock.example")).toEqual({ total: 2, unique: 1 });
        expect((await request(`${next.url}/lock.example`, { body: { time: "2015-11-24T13:00:02Z", path: "/3" } })).status).toBe(200);
        expect((await countOf(next.url, "lock.example")).total).toBe(3);
      } finally {
        await next.stop();
      }
    } finally {
      if (!stopped) await first.stop();
    }
  });
});

// ---------------------------------------------------------------------------

describe.skipIf(!onLinux)("many websites through a small pool", () => {
  // Scaled down for the suite: the full 10,000 websites with --connections 100
  // run in the benchmark (bench/ingest.ts, `bun run bench:ingest`).
  const WEBSITES = 1_000;
  const POOL = 20;
  const IN_FLIGHT = 50;

  test("--connections 20: 1,000 websites written, never more than 20 shard files open", async () => {
    const root = newRoot();
    const server = await startServer({ root, args: ["--connections", String(POOL)] });
    try {
      const rootPrefix = realpathSync(root) + "/";
      const baseline = openPaths(server.pid).length;
      const seen = { shards: 0, underRoot: 0, total: 0, samples: 0 };
      const sample = () => {
        const paths = openPaths(server.pid);
        const shards = paths.filter(isShardFile).length;
        // Shards with their -wal and -shm, the lock file, and a new shard's directory,
        // which SQLite opens for a moment to fsync it when it creates a file there.
        const underRoot = paths.filter((p) => p.startsWith(rootPrefix)).length;
        seen.shards = Math.max(seen.shards, shards);
        seen.underRoot = Math.max(seen.underRoot, underRoot);
        seen.total = Math.max(seen.total, paths.length);
        seen.samples++;
        expect(shards).toBeLessThanOrEqual(POOL);
        expect(underRoot).toBeLessThanOrEqual(POOL * 3 + 2);
        // What the process held before (the listening socket, the lock file, …), three files
        // per open shard, a socket per client connection, and a little room for sockets closing.
        expect(paths.length).toBeLessThanOrEqual(baseline + POOL * 3 + IN_FLIGHT + 15);
      };

      let failures = 0;
      await inParallel(WEBSITES, IN_FLIGHT, async (i) => {
        const { status } = await request(`${server.url}/w${i}.example`, { body: { time: "2015-11-24T13:00:00Z", path: `/${i}`, ip: "10.0.0.1" } });
        if (status !== 200) failures++;
        if (i % 10 === 0) sample();
      });
      sample();
      expect(failures).toBe(0);
      expect(seen.samples).toBeGreaterThan(50);
      // The pool filled up (so the count is real) and never went past its size.
      expect(seen.shards).toBe(POOL);

      const rand = seededRandom(1000);
      const picks = new Set<number>();
      while (picks.size < 20) picks.add(Math.floor(rand() * WEBSITES));
      for (const i of picks) expect([i, await countOf(server.url, `w${i}.example`)]).toEqual([i, { total: 1, unique: 1 }]);
      const dirs = readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory());
      expect(dirs.length).toBe(WEBSITES);
      sample();
    } finally {
      await server.stop();
    }
  }, 30_000);
});

// ---------------------------------------------------------------------------

/** Commits in a WAL file: frames of the current generation that end a transaction. */
function walCommits(file: string): number {
  const wal = readFileSync(file);
  if (wal.length < 32) return 0;
  const pageSize = wal.readUInt32BE(8);
  const salts = [wal.readUInt32BE(16), wal.readUInt32BE(20)];
  let commits = 0;
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    if (wal.readUInt32BE(at + 8) !== salts[0] || wal.readUInt32BE(at + 12) !== salts[1]) break;
    if (wal.readUInt32BE(at + 4) !== 0) commits++;
  }
  return commits;
}

describe("group commit", () => {
  test("200 concurrent single events to one website are all answered and stored", async () => {
    const server = await startServer();
    try {
      const N = 200;
      const answers = await Promise.all(
        Array.from({ length: N }, (_, i) =>
          request(`${server.url}/group.example`, { body: { time: "2015-11-24T13:00:00Z", event: "view", path: `/g${i}`, ip: `10.4.0.${i}` } }),
        ),
      );
      expect(answers.map((a) => `${a.status} ${JSON.stringify(a.body)}`)).toEqual(Array(N).fill('200 {"inserted":1}'));
      expect(await countOf(server.url, "group.example")).toEqual({ total: N, unique: N });
      const list = await request(`${server.url}/group.example`);
      expect(new Set(list.body.list.map((v: { path: string }) => v.path)).size).toBe(N);

      // In effect: the WAL (never checkpointed at this size) holds far fewer commits than requests.
      // One transaction per request would leave at least N.
      const wal = join(server.root, "group.example", "2015-11", "analytics.db-wal");
      const commits = walCommits(wal);
      expect(commits).toBeGreaterThan(0);
      expect(commits).toBeLessThan(N / 2);

      // The measure is real: requests one after another are not batched, each is its own commit.
      for (let i = 0; i < 5; i++) {
        expect((await request(`${server.url}/group.example`, { body: { time: "2015-11-24T14:00:00Z", path: `/s${i}` } })).status).toBe(200);
      }
      expect(walCommits(wal)).toBe(commits + 5);
    } finally {
      await server.stop();
    }
  });
});

// ---------------------------------------------------------------------------

describe.skipIf(!onLinux)("SIGTERM with requests in flight", () => {
  test("20 bulk requests caught mid-body by SIGTERM: answered, stored, exit 0", async () => {
    const root = newRoot();
    const server = await launch(root);
    const REQUESTS = 20;
    const SIZE = 200;
    const from = Date.UTC(2015, 10, 20) / 1000;

    const sockets = () => openPaths(server.pid).filter((p) => p.startsWith("socket:")).length;
    const idleSockets = sockets();

    // Each body is streamed in two halves: the first before SIGTERM, the second after.
    const rest: (() => void)[] = [];
    const outcomes = Array.from({ length: REQUESTS }, async (_, r) => {
      const events = Array.from({ length: SIZE }, (_, k) => ({ time: rfc3339(from + r * 86400 + k * 60), event: "term", path: `/t${r}-${k}` }));
      const text = JSON.stringify({ list: events });
      const cut = Math.floor(text.length / 2);
      const encoder = new TextEncoder();
      let release!: () => void;
      const second = new Promise<void>((resolve) => (release = resolve));
      rest.push(release);
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(encoder.encode(text.slice(0, cut)));
          await second;
          controller.enqueue(encoder.encode(text.slice(cut)));
          controller.close();
        },
      });
      try {
        const response = await fetch(`${server.url}/term.example/bulk`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          duplex: "half",
        } as RequestInit);
        return { request: r, status: response.status, body: await response.text() };
      } catch (error) {
        return { request: r, status: 0, body: String(error) };
      }
    });

    // Sent: the server holds a connection for each request.
    const deadline = Date.now() + 5_000;
    while (sockets() < idleSockets + REQUESTS && Date.now() < deadline) await Bun.sleep(10);
    expect(sockets()).toBeGreaterThanOrEqual(idleSockets + REQUESTS);
    await Bun.sleep(100);

    server.proc.kill("SIGTERM");
    await Bun.sleep(100);
    // Still running, waiting for the requests in flight...
    expect(server.proc.exitCode).toBeNull();
    for (const release of rest) release();
    const answers = await Promise.all(outcomes);
    const code = await server.proc.exited;
    expect(code).toBe(0);

    // The requests that were in flight were answered, not dropped.
    expect(answers.map((a) => `${a.status} ${a.body}`)).toEqual(Array(REQUESTS).fill(`200 {"inserted":${SIZE}}`));

    const after = await launch(root);
    try {
      const acknowledged = answers.filter((a) => a.status === 200).length;
      expect((await countOf(after.url, "term.example")).total).toBe(acknowledged * SIZE);
      const list = await request(`${after.url}/term.example`);
      const paths = new Set(list.body.list.map((v: { path: string }) => v.path));
      const missing = answers
        .filter((a) => a.status === 200)
        .flatMap((a) => Array.from({ length: SIZE }, (_, k) => `/t${a.request}-${k}`))
        .filter((p) => !paths.has(p));
      expect(missing).toEqual([]);
    } finally {
      expect(await terminate(after)).toBe(0);
    }
  });
});
