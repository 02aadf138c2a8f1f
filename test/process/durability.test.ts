/**
 * Durability, seen from outside: real server processes on real SQLite files,
 * killed (-9) or stopped (SIGTERM) while clients write, then started again on
 * the same root and read back over HTTP. And one process per root.
 *
 * The kill loop is seeded: KILL_SEED=<seed> replays a run's choices.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { cleanup, scratch } from "../helpers/cleanup";
import { seededRandom, seedFrom } from "../helpers/fuzz";
import { REQUEST_MS, request, runCli, startServer, type TestServer } from "../helpers/server";
import { integrity, openPaths, shardFiles } from "../helpers/shards";
import { TEST_MS, waitFor } from "../helpers/wait";

afterAll(cleanup);
setDefaultTimeout(TEST_MS);

const onLinux = process.platform === "linux";

/** RFC 3339 to the second, as the service answers times. */
const rfc3339 = (seconds: number) => new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
const monthOf = (seconds: number) => rfc3339(seconds).slice(0, 7);

async function countOf(url: string, website: string): Promise<{ total: number; unique: number }> {
  const answer = await request(`${url}/${website}/count`);
  expect(answer.status).toBe(200);
  return answer.body;
}

/** Every shard under the root is intact, as SQLite's integrity check sees it (WAL included). */
function expectIntact(root: string) {
  for (const file of shardFiles(root)) expect(`${file}: ${integrity(file)}`).toBe(`${file}: ok`);
}

/** A POST whose body is sent up to `sentBytes` and then held until `release` (or cut by `fail`). */
function heldPost(url: string, text: string, sentBytes: number) {
  const encoder = new TextEncoder();
  let release!: () => void;
  let fail!: (reason: Error) => void;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(text.slice(0, sentBytes)));
      release = () => {
        controller.enqueue(encoder.encode(text.slice(sentBytes)));
        controller.close();
      };
      fail = (reason) => controller.error(reason);
    },
  });
  const answer = fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body, duplex: "half" } as RequestInit).then(
    async (response) => ({ status: response.status, text: await response.text() }),
    (error: Error) => ({ status: 0, text: String(error) }),
  );
  return { answer, release: () => release(), fail: (reason: Error) => fail(reason) };
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
  events: SentEvent[];
  /** in-flight: sent, and no complete answer came (the server died, or never saw it). */
  state: "in-flight" | "acked" | "refused";
  answer?: string;
}

describe.skipIf(!onLinux)("kill -9 during ingest", () => {
  const WEBSITES = ["kill-a.example", "kill-b.example", "kill-c.example"];
  const CLIENTS = 10;
  /** Events fall in three months, so each website has three shards to damage. */
  const FROM = Date.UTC(2024, 0, 1) / 1000;
  const SPAN = Date.UTC(2024, 3, 1) / 1000 - FROM;
  /**
   * Each round kills the server at a moment drawn from the seed (after 50 to 400
   * acknowledged events: mid-commit, between commits, with bodies half read),
   * with requests of every kind in flight, then the next round starts on what
   * the kill left. Five rounds on one root exercise recovery of a
   * recovered root; more rounds repeat the same moments, and the seed changes
   * every run, so the moments covered grow across runs.
   */
  const ROUNDS = 5;

  test(`${ROUNDS} kills on one root: every acknowledged event is stored once, nothing unsent or half a request appears, shards stay intact`, async () => {
    const seed = seedFrom("KILL_SEED");
    console.log(`kill -9 loop: KILL_SEED=${seed} (replay: KILL_SEED=${seed} bun test test/process/durability.test.ts)`);
    const random = seededRandom(seed);
    const root = join(scratch("ma-kill-"), "dbs");
    const byPath = new Map<string, SentEvent>();
    const requests: SentRequest[] = [];
    let kills = 0;

    /** What the service holds after a kill, against what was sent. */
    async function expectHeld(server: TestServer) {
      const seen = new Map<string, number>();
      const strangers: string[] = [];
      for (const website of WEBSITES) {
        const list = await request(`${server.url}/${website}`);
        if (list.status === 404) continue;
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
        expect((await countOf(server.url, website)).total).toBe(visits.length);
      }
      const acked = requests.filter((r) => r.state === "acked");
      // A request in flight is, within each shard (a website's month), all there or not at all.
      const halfWritten: string[] = [];
      for (const req of requests.filter((r) => r.state === "in-flight")) {
        for (const [shard, events] of Map.groupBy(req.events, (e) => `${e.website}/${monthOf(e.time)}`)) {
          const stored = events.filter((e) => seen.has(e.path)).length;
          if (stored !== 0 && stored !== events.length) halfWritten.push(`${req.id} ${shard}: ${stored}/${events.length}`);
        }
      }
      expect({
        strangers: strangers.slice(0, 10),
        twice: [...seen].filter(([, n]) => n > 1).slice(0, 10),
        lost: acked.flatMap((r) => r.events.filter((e) => !seen.has(e.path)).map((e) => e.path)).slice(0, 10),
        halfWritten: halfWritten.slice(0, 10),
        // A body the kill cut off half-way left nothing behind.
        stalledStored: [...seen.keys()].filter((path) => byPath.get(path)?.event === "stalled"),
      }).toEqual({ strangers: [], twice: [], lost: [], halfWritten: [], stalledStored: [] });
      return seen;
    }

    for (let round = 0; round < ROUNDS; round++) {
      // Started on what the last kill left (its lock went with it): all of it must hold.
      const server = await startServer({ root });
      if (round > 0) await expectHeld(server);

      let killed = false;
      let ackedEvents = 0;
      const send = async (req: SentRequest, path: string, body: unknown) => {
        requests.push(req);
        try {
          const response = await fetch(`${server.url}${path}`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(REQUEST_MS),
          });
          const text = await response.text();
          req.answer = `${response.status} ${text}`;
          // Acknowledged: a 200 that says every event of the request was inserted.
          req.state = response.status === 200 && text === JSON.stringify({ inserted: req.events.length }) ? "acked" : "refused";
          if (req.state === "acked") ackedEvents += req.events.length;
        } catch {
          // The connection died with the server (or was refused after it): left in flight.
        }
      };
      const newRequest = (id: string, websiteOf: () => string, size: number, event: string): SentRequest => {
        const req: SentRequest = { id, events: [], state: "in-flight" };
        for (let i = 0; i < size; i++) {
          const sent: SentEvent = { website: websiteOf(), path: `/${id}-${i}`, time: FROM + Math.floor(random() * SPAN), event, request: req };
          req.events.push(sent);
          byPath.set(sent.path, sent);
        }
        return req;
      };
      const wire = (req: SentRequest, c: number) =>
        req.events.map((e) => ({ time: rfc3339(e.time), event: e.event, path: e.path, ip: `10.1.${c}.${Math.floor(random() * 250)}` }));
      const anyWebsite = () => WEBSITES[Math.floor(random() * WEBSITES.length)]!;

      const clients = Array.from({ length: CLIENTS }, async (_, c) => {
        for (let n = 0; !killed; n++) {
          const id = `k${round}-c${c}-${n}`;
          const size = 10 + Math.floor(random() * 41);
          const kind = random();
          if (kind < 0.3) {
            const website = anyWebsite();
            const req = newRequest(id, () => website, 1, "single");
            await send(req, `/${website}`, wire(req, c)[0]);
          } else if (kind < 0.8) {
            const website = anyWebsite();
            const req = newRequest(id, () => website, size, "bulk");
            await send(req, `/${website}/bulk`, { list: wire(req, c) });
          } else {
            // POST /bulk over several websites: each website's part lands in its own shards.
            const req = newRequest(id, anyWebsite, size, "multi");
            await send(req, "/bulk", { list: wire(req, c).map((event, i) => ({ ...event, website: req.events[i]!.website })) });
          }
        }
      });
      // One bulk per website whose body stops half-way: certainly in flight when the
      // kill comes, whatever the timing of the others. Nothing of it may be stored.
      const stalled = WEBSITES.map((website, w) => {
        const req = newRequest(`k${round}-stall${w}`, () => website, 20, "stalled");
        requests.push(req);
        const text = JSON.stringify({ list: wire(req, 99) });
        return { req, post: heldPost(`${server.url}/${website}/bulk`, text, text.length >> 1) };
      });

      const killAfter = 50 + Math.floor(random() * 350);
      await waitFor(`${killAfter} events acknowledged before the kill`, () => ackedEvents >= killAfter || server.proc.exitCode !== null);
      process.kill(server.pid, "SIGKILL");
      kills++;
      killed = true;
      await server.proc.exited;
      expect(server.proc.signalCode).toBe("SIGKILL");
      await Promise.all(clients);
      for (const { post } of stalled) post.fail(new Error("killed"));
      const stalledAnswers = await Promise.all(stalled.map(({ post }) => post.answer));

      const thisRound = requests.filter((r) => r.id.startsWith(`k${round}-`));
      // No request was turned away: every answer that came was a full acknowledgement.
      expect(thisRound.filter((r) => r.state === "refused").map((r) => r.answer)).toEqual([]);
      // The half-sent requests got no answer.
      expect(stalledAnswers.map(({ status }) => status)).toEqual(WEBSITES.map(() => 0));
      // The files as the kill left them, WAL and all, are intact.
      expectIntact(root);
    }

    // The last kill's leftovers, then a clean stop: every shard checkpointed and intact.
    const last = await startServer({ root });
    const seen = await expectHeld(last);
    await last.stop();
    expect(last.proc.exitCode).toBe(0);
    const shards = shardFiles(root);
    expect(shards.length).toBe(WEBSITES.length * 3);
    for (const shard of shards) expect(existsSync(`${shard}-wal`) ? statSync(`${shard}-wal`).size : 0).toBe(0);
    expectIntact(root);

    const acked = requests.filter((r) => r.state === "acked");
    const cut = requests.filter((r) => r.state === "in-flight");
    console.log(
      `kill -9 loop: ${kills} kills, ${requests.length} requests, ${acked.length} acknowledged and all present once; ` +
        `${cut.length} cut by a kill (${cut.filter((r) => r.events.some((e) => seen.has(e.path))).length} of them committed)`,
    );
  }, 60_000);
});

// ---------------------------------------------------------------------------

describe.skipIf(!onLinux)("SIGTERM with requests in flight", () => {
  test("bulk requests caught mid-body by SIGTERM are answered and stored; later ones are refused; exit 0, shards closed cleanly", async () => {
    const root = join(scratch("ma-term-"), "dbs");
    const server = await startServer({ root });
    const REQUESTS = 10;
    const SIZE = 1000;
    const from = Date.UTC(2024, 6, 1) / 1000;
    const bodyOf = (r: number) =>
      JSON.stringify({
        list: Array.from({ length: SIZE }, (_, k) => ({
          time: rfc3339(from + r * 86400 + k * 60),
          event: "term",
          path: `/t${r}-${k}`,
          ip: `10.2.${r}.${k % 250}`,
        })),
      });

    // Each body is sent in two halves: the first before SIGTERM, the second after.
    const sockets = () => openPaths(server.pid).filter((p) => p.startsWith("socket:")).length;
    const idleSockets = sockets();
    const held = Array.from({ length: REQUESTS }, (_, r) => {
      const text = bodyOf(r);
      return heldPost(`${server.url}/term.example/bulk`, text, text.length >> 1);
    });
    // In flight: the service holds a connection for each, and has read what came on them
    // (a request sent after them has been answered).
    await waitFor("a connection for each request", () => sockets() >= idleSockets + REQUESTS);
    expect((await request(`${server.url}/_health`)).status).toBe(200);

    const logged = server.output().length;
    server.proc.kill("SIGTERM");
    await server.waitForOutput("SIGTERM: no new connections", { from: logged });
    // Still running, waiting for the requests in flight.
    expect(server.proc.exitCode).toBeNull();
    // The listener is closed: a new request is refused, never seen by the service.
    const late = await fetch(`${server.url}/term.example/bulk`, { method: "POST", body: bodyOf(REQUESTS), keepalive: false }).then(
      (response) => `answered ${response.status}`,
      (error: { code?: string }) => String(error.code),
    );
    expect(late).toMatch(/ConnectionRefused|ECONNREFUSED|ECONNRESET/);

    for (const { release } of held) release();
    const answers = await Promise.all(held.map(({ answer }) => answer));
    const code = await server.proc.exited;
    expect(code).toBe(0);
    expect(server.output()).toMatch(/stopped in \d+ ms/);
    // The requests that were in flight were answered, not dropped.
    expect(answers.map((a) => `${a.status} ${a.text}`)).toEqual(Array(REQUESTS).fill(`200 {"inserted":${SIZE}}`));

    // Shards closed cleanly: the WAL was checkpointed into the main file.
    for (const file of shardFiles(root)) expect(existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0).toBe(0);
    expectIntact(root);

    const after = await startServer({ root });
    expect(await countOf(after.url, "term.example")).toMatchObject({ total: REQUESTS * SIZE });
    const list = await request(`${after.url}/term.example?format=ndjson`);
    const paths = new Set(
      String(list.body)
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line).path),
    );
    const missing = Array.from({ length: REQUESTS }, (_, r) => Array.from({ length: SIZE }, (_, k) => `/t${r}-${k}`))
      .flat()
      .filter((path) => !paths.has(path));
    expect(missing).toEqual([]);
    await after.stop();
    expect(after.proc.exitCode).toBe(0);
  }, 30_000);
});

// ---------------------------------------------------------------------------

describe("one process per root", () => {
  test("a second instance on the same root refuses to start; the first keeps answering; the root is free once it stops", async () => {
    const root = join(scratch("ma-lock-"), "dbs");
    const first = await startServer({ root });
    expect((await request(`${first.url}/lock.example`, { body: { time: "2015-11-24T13:00:00Z", path: "/1" } })).status).toBe(200);

    const second = await runCli(["--root", root, "--port", "0", "--host", "127.0.0.1"]);
    expect(second.exitCode).toBe(1);
    const said = second.stdout + second.stderr;
    expect(said).toContain(root);
    expect(said).toMatch(/in use/i);
    expect(said).not.toMatch(/listening on/);

    // The first is untouched: it still reads and writes.
    expect((await request(`${first.url}/lock.example`, { body: { time: "2015-11-24T13:00:01Z", path: "/2" } })).status).toBe(200);
    expect(await countOf(first.url, "lock.example")).toEqual({ total: 2, unique: 1 });

    await first.stop();
    const next = await startServer({ root });
    expect(await countOf(next.url, "lock.example")).toEqual({ total: 2, unique: 1 });
    expect((await request(`${next.url}/lock.example`, { body: { time: "2015-11-24T13:00:02Z", path: "/3" } })).status).toBe(200);
    expect((await countOf(next.url, "lock.example")).total).toBe(3);
  });
});
