/**
 * Writes under load: concurrent requests give exact counts, concurrent single
 * events to one shard are committed together (group commit), many websites
 * pass through a small pool of handles, and the checkpoint worker keeps a
 * busy shard's WAL from growing.
 *
 * Written against a target like the contract, but run only against the
 * compiled binary (test/process/concurrency.test.ts): in process, the client
 * and the service share one thread, and these thousands of requests cost
 * three times as long, for nothing a separate process does not show.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import { seededRandom } from "../helpers/fuzz";
import { inParallel } from "../helpers/load";
import { isShardFile, openPaths } from "../helpers/shards";
import type { Target, Targets } from "../helpers/target";
import { waitFor } from "../helpers/wait";

async function countOf(service: Target, website: string): Promise<{ total: number; unique: number }> {
  const answer = await service.request(`/${website}/count`);
  expect(answer.status).toBe(200);
  return answer.body;
}

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

const onLinux = process.platform === "linux";

/** Files the service holds open under its root. */
const openUnder = (service: Target) => openPaths(service.pid).filter((path) => path.startsWith(realpathSync(service.root) + "/"));

export function concurrencyContract(targets: Targets) {
  describe("concurrent writes give exact counts", () => {
    // Fifty requests in flight end up in group commits of many requests each; a
    // thousand of them make some twenty such commits per test, where a lost or
    // doubled write would show. More requests repeat the same commits.
    test("1,000 single events, 50 in flight, to one website", async () => {
      const server = await targets.shared();
      try {
        const answers = new Map<string, number>();
        await inParallel(1_000, 50, async (i) => {
          const { status, body } = await server.request(`/one.example`, {
            body: { time: 1448370000 + i, event: "view", path: `/p${i}`, ip: `10.2.${i >> 8}.${i & 255}` },
          });
          const key = `${status} ${JSON.stringify(body)}`;
          answers.set(key, (answers.get(key) ?? 0) + 1);
        });
        expect(Object.fromEntries(answers)).toEqual({ '200 {"inserted":1}': 1_000 });
        expect(await countOf(server, "one.example")).toEqual({ total: 1_000, unique: 1_000 });
      } finally {
        await server.close();
      }
    });

    test("1,050 single events, 50 in flight, over 20 websites with different counts", async () => {
      const server = await targets.shared();
      try {
        // Website w gets 5 + 5w events: 5, 10, …, 100; 1,050 in all, interleaved.
        const expected = Array.from({ length: 20 }, (_, w) => 5 + 5 * w);
        const order = expected.flatMap((n, w) => Array.from({ length: n }, () => w));
        const rand = seededRandom(7);
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(rand() * (i + 1));
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        expect(order.length).toBe(1_050);

        let ok = 0;
        await inParallel(order.length, 50, async (i) => {
          const { status, body } = await server.request(`/many-${order[i]}.example`, {
            body: { time: "2015-11-24T13:00:00Z", event: "view", path: `/p${i}`, ip: `10.3.${i >> 8}.${i & 255}` },
          });
          if (status === 200 && body.inserted === 1) ok++;
        });
        expect(ok).toBe(1_050);
        const counts = await Promise.all(expected.map((_, w) => countOf(server, `many-${w}.example`)));
        expect(counts.map((c) => c.total)).toEqual(expected);
        expect(counts.map((c) => c.unique)).toEqual(expected);
      } finally {
        await server.close();
      }
    });

    test("40 bulks of 100 mixed with 1,000 singles, all at once", async () => {
      const server = await targets.shared();
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
              ? await server.request(`/mixed.example/bulk`, { body: { list: Array.from({ length: 100 }, (_, k) => at(k)) } })
              : await server.request(`/mixed.example`, { body: at(0) });
          if (status === 200) {
            ok++;
            inserted += body.inserted;
          }
        });
        expect(ok).toBe(1_040);
        expect(inserted).toBe(5_000);
        expect((await countOf(server, "mixed.example")).total).toBe(5_000);
        const events = await server.request(`/mixed.example/events`);
        expect(events.body.list.map((e: { id: string; total: number }) => [e.id, e.total])).toEqual([
          ["bulk", 4_000],
          ["single", 1_000],
        ]);
      } finally {
        await server.close();
      }
    });
  });

  describe("group commit", () => {
    test("200 concurrent single events to one website are all answered and stored", async () => {
      const server = await targets.shared();
      try {
        const N = 200;
        const answers = await Promise.all(
          Array.from({ length: N }, (_, i) =>
            server.request(`/group.example`, { body: { time: "2015-11-24T13:00:00Z", event: "view", path: `/g${i}`, ip: `10.4.0.${i}` } }),
          ),
        );
        expect(answers.map((a) => `${a.status} ${JSON.stringify(a.body)}`)).toEqual(Array(N).fill('200 {"inserted":1}'));
        expect(await countOf(server, "group.example")).toEqual({ total: N, unique: N });
        const list = await server.request(`/group.example`);
        expect(new Set(list.body.list.map((v: { path: string }) => v.path)).size).toBe(N);

        // In effect: the WAL (never checkpointed at this size) holds far fewer commits than requests.
        // One transaction per request would leave at least N.
        const wal = join(server.root, "group.example", "2015-11", "analytics.db-wal");
        const commits = walCommits(wal);
        expect(commits).toBeGreaterThan(0);
        expect(commits).toBeLessThan(N / 2);

        // The measure is real: requests one after another are not batched, each is its own commit.
        for (let i = 0; i < 5; i++) {
          expect((await server.request(`/group.example`, { body: { time: "2015-11-24T14:00:00Z", path: `/s${i}` } })).status).toBe(200);
        }
        expect(walCommits(wal)).toBe(commits + 5);
      } finally {
        await server.close();
      }
    });
  });

  describe("the checkpoint worker", () => {
    test("copies a large WAL into its shard while the service runs", async () => {
      const server = await targets.shared();
      // 20,000 events of some 250 bytes, about 6 MB of WAL: past the 4 MB at which
      // the worker checkpoints, and far below the 40 MB at which the writer would itself.
      for (let batch = 0; batch < 4; batch++) {
        const list = Array.from({ length: 5_000 }, (_, i) => ({
          time: 1_448_000_000 + batch * 5_000 + i,
          event: "pageview",
          path: `/a/path/long/enough/to/fill/pages/${"x".repeat(180)}/${batch}/${i}`,
          ip: `10.2.${batch}.${i % 250}`,
        }));
        expect((await server.request("/wal.example/bulk", { body: { list } })).status).toBe(200);
      }
      const shard = join(server.root, "wal.example", "2015-11", "analytics.db");
      // Until a checkpoint, every page written lives in the WAL and the file keeps only its schema.
      await waitFor("a checkpoint into the shard's file", () => statSync(shard).size > 4 * 1024 * 1024, 10_000);
      expect((await server.request("/wal.example/count")).body.total).toBe(20_000);
      await server.close();
    });
  });

  describe.skipIf(!onLinux)("many websites through a small pool", () => {
    // 200 websites through 20 handles is 180 evictions, with 50 writes in flight
    // at a time: what the bound has to survive. More websites repeat the same
    // evictions; the full 10,000 with --connections 100 run in the benchmark
    // (bench/ingest.ts, `bun run bench:ingest`).
    const WEBSITES = 200;
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
        if (i % 4 === 0) sample();
      });
      sample();
      expect(failures).toBe(0);
      expect(seen.samples).toBeGreaterThan(40);
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
