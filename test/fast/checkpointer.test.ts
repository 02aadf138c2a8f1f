import { afterAll, expect, test } from "bun:test";
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Checkpointer } from "../../src/store/checkpointer";
import { Shard } from "../../src/store/shard";
import { tempDir } from "../helpers/server";
import { waitFor } from "../helpers/wait";

const dir = tempDir("ma-checkpointer-");
const checkpointer = new Checkpointer();
afterAll(async () => {
  await checkpointer.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A shard path whose WAL holds `bytes`: all the checkpointer looks at. */
function shardWithWal(name: string, bytes: number): string {
  const path = join(dir, name, "2015-11", "analytics.db");
  mkdirSync(join(dir, name, "2015-11"), { recursive: true });
  writeFileSync(`${path}-wal`, Buffer.alloc(bytes));
  return path;
}

test("shards written once, with small WALs, are not watched for ever", async () => {
  for (let i = 0; i < 500; i++) checkpointer.written(shardWithWal(`small-${i}`, 8192));
  expect(checkpointer.watching).toBe(500);
  // Its idle work is what it watches: once nothing is written, nothing is left to look at.
  await waitFor("the checkpointer to let go of 500 idle shards", () => checkpointer.watching === 0, 5_000);
});

test("a deleted website's shards are dropped", async () => {
  const path = shardWithWal("deleted", 8192);
  checkpointer.written(path);
  rmSync(join(dir, "deleted"), { recursive: true, force: true });
  await waitFor("the checkpointer to drop a deleted shard", () => checkpointer.watching === 0, 5_000);
});

test("a shard written again is watched again, and a WAL past 4 MB is still checkpointed by the worker", async () => {
  const path = join(dir, "busy", "2015-11", "analytics.db");
  const shard = Shard.open(path, true, "normal");
  try {
    const row = (i: number) => ({ time: 1_448_000_000 + i, event: "view", path: `/a/long/enough/path/${i}`.padEnd(200, "x"), ip: "10.0.0.1", platform: "", refererDomain: "", countryCode: "" });
    for (let batch = 0; batch < 4; batch++) {
      shard.insert([Array.from({ length: 5_000 }, (_, i) => row(batch * 5_000 + i))]);
      checkpointer.written(path);
    }
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(4 * 1024 * 1024);
    // Until a checkpoint the main file holds only the schema; after it, the rows.
    await waitFor("the worker to checkpoint a 4 MB WAL", () => statSync(path).size > 4 * 1024 * 1024, 10_000);
    expect(checkpointer.watching).toBe(0);
  } finally {
    shard.close();
  }
});
