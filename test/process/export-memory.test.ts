/**
 * A large export streams: the service reads rows as the client takes them,
 * so its memory does not grow with the answer, and a client that stops
 * reading holds the service back instead of filling its memory.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, scratch } from "../helpers/cleanup";
import { startServer } from "../helpers/server";
import { writeOriginalShard, type VisitRow } from "../helpers/shards";
import { TEST_MS, waitFor } from "../helpers/wait";

afterAll(cleanup);
setDefaultTimeout(TEST_MS);

/** Memory the process allocated (its anonymous resident pages, not the pages of its executable it has touched), in MB. */
const allocatedMb = (pid: number) => Number(/RssAnon:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

/** CPU time the process has used, in clock ticks (user and system, fields 14 and 15 of /proc/<pid>/stat). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

test.skipIf(process.platform !== "linux")(
  "a 30 MB answer streams to a client that pauses, with memory that does not grow with it",
  async () => {
    // 100,000 events of October 2015, written straight into the root: a 30 MB answer.
    // (A summary costs by the row, an answer weighs by the byte: long paths.)
    const root = join(scratch(), "dbs");
    const events = 100_000;
    const padding = "/a/fairly/long/path/to/make/the/answer/larger".repeat(4);
    const rows = Array.from({ length: events }, (_, i): VisitRow => ({
      time: 1_446_000_000 + i,
      event: "pageview",
      path: `${padding}/${Math.floor(i / 5000)}/${i % 5000}`,
      ip: `10.1.${i % 240}.${i % 250}`,
      platform: "",
      refererDomain: "",
      countryCode: "",
    }));
    writeOriginalShard(root, "big.example", "2015-10", rows);

    // A first process does what a service does once with a new shard: builds the
    // month's summary in the background, and adds the index at the first read.
    // Counted in the reader's memory, that work would swamp the export's.
    const builder = await startServer({ root });
    await builder.waitForOutput(/summaries up to date shards=1\b/, { timeoutMs: 30_000 });
    expect((await fetch(`${builder.url}/big.example?limit=1`)).status).toBe(200);
    await builder.stop();

    // The reader finds its summary up to date: its memory is the export's.
    const reader = await startServer({ root });
    await reader.waitForOutput(/summaries up to date shards=1\b/);
    const first = await fetch(`${reader.url}/big.example?limit=1`);
    expect(first.status).toBe(200);
    await first.text();
    const before = allocatedMb(reader.pid);

    const response = await fetch(`${reader.url}/big.example?format=ndjson`);
    const body = response.body!.getReader();
    let bytes = 0;
    let lines = 0;
    const take = (chunk: Uint8Array) => {
      bytes += chunk.byteLength;
      for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) lines++;
    };
    take((await body.read()).value!);
    // The client stops reading. Once the socket's buffers are full, a service that
    // waits for its client stops working; one that did not, or that built the answer
    // first, works on until it holds all of it. Either way it then goes quiet.
    await waitFor(
      "the service to go quiet while the client does not read",
      async () => {
        const ticks = cpuTicks(reader.pid);
        // A window in which to see its CPU time not move (a tick is 10 ms).
        await Bun.sleep(200);
        return cpuTicks(reader.pid) - ticks <= 1;
      },
      20_000,
    );
    // What it made before going quiet is mostly garbage (the chunks of rows it wrote
    // into the socket), which the collector gives back on a timer about a second
    // later; an answer held in memory is never given back. So what it holds must come
    // down to socket buffers and a chunk of rows: some MB, against the answer's 30.
    let held = Infinity;
    await waitFor("the memory held while the client pauses to come down", () => (held = allocatedMb(reader.pid) - before) < 16, 10_000).catch(
      () => {},
    );
    expect(held).toBeLessThan(16);
    for (let next = await body.read(); !next.done; next = await body.read()) take(next.value);

    expect(lines).toBe(events);
    expect(bytes).toBeGreaterThan(28 * 1024 * 1024);
  },
  60_000,
);
