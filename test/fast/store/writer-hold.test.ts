import { Database } from "bun:sqlite";
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { Checkpointer } from "../../../src/store/checkpointer";
import { ShardPool } from "../../../src/store/pool";
import { ShardWriter } from "../../../src/store/writer";
import { cleanup, scratch } from "../../helpers/cleanup";
import { pageview as visit, storedIps as stored } from "../../helpers/files";
import { TEST_MS, waitFor } from "../../helpers/wait";

afterAll(cleanup);
setDefaultTimeout(TEST_MS);


function open() {
  const dir = scratch();
  const pool = new ShardPool({ maxOpen: 10, idleMs: 60_000, sync: "normal" });
  const checkpointer = new Checkpointer();
  const writer = new ShardWriter(pool, checkpointer);
  const close = async () => {
    await checkpointer.close();
    pool.closeAll();
  };
  return { writer, close, a: join(dir, "a", "2015-11", "analytics.db"), b: join(dir, "b", "2015-11", "analytics.db") };
}

test("a held shard's rows wait, gathering, while other shards commit, and are committed once it is released", async () => {
  const { writer, close, a, b } = open();
  try {
    await writer.write(a, [visit("1.1.1.1")]);
    // Another connection takes the shard's write lock, as the erasure worker does while the hold lasts:
    // a commit from the writer now would wait in SQLite's busy handler, holding the event loop.
    const other = new Database(a);
    other.run("PRAGMA busy_timeout = 5000");
    other.run("BEGIN IMMEDIATE");
    other.run("DELETE FROM visits WHERE ip = '1.1.1.1'");
    const release = writer.hold(a);

    let settled = 0;
    const waiting = [writer.write(a, [visit("2.2.2.2")]), writer.write(a, [visit("3.3.3.3")])].map((write) => write.finally(() => settled++));
    const started = performance.now();
    await writer.write(b, [visit("4.4.4.4")]);
    // Under a tenth of the 5 s the busy handler would have waited, on a loaded machine.
    expect(performance.now() - started).toBeLessThan(500);
    expect(stored(b)).toEqual(["4.4.4.4"]);
    expect(settled).toBe(0);

    other.run("COMMIT");
    other.close();
    expect(stored(a)).toEqual([]);
    release();
    // Released twice: harmless, and no second hold is let go.
    release();
    expect(await Promise.all(waiting)).toEqual([0, 0]);
    expect(stored(a)).toEqual(["2.2.2.2", "3.3.3.3"]);
  } finally {
    await close();
  }
});

test("a shard held twice waits for both releases; a flush on shutdown commits held shards too", async () => {
  const { writer, close, a } = open();
  try {
    const first = writer.hold(a);
    const second = writer.hold(a);
    let done = false;
    const write = writer.write(a, [visit("5.5.5.5")]).then(() => (done = true));
    first();
    // Other work gets turns of the event loop meanwhile; the shard stays held by the second hold.
    await writer.write(join(a, "..", "..", "..", "c", "2015-11", "analytics.db"), [visit("6.6.6.6")]);
    expect(done).toBe(false);
    writer.flush();
    await waitFor("the flushed write to settle", () => done);
    expect(stored(a)).toEqual(["5.5.5.5"]);
    second();
    await write;
  } finally {
    await close();
  }
});
