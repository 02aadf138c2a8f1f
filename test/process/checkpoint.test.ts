import { expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { request, startServer } from "../helpers/server";

test("the checkpoint worker copies a large WAL into its shard while the service runs", async () => {
  const server = await startServer({ args: ["--log-level", "warn"] });
  try {
    // About 60,000 events, some 8 MB of WAL: past the 4 MB at which the worker
    // checkpoints, and far below the 40 MB at which the writer would itself.
    for (let batch = 0; batch < 12; batch++) {
      const list = Array.from({ length: 5_000 }, (_, i) => ({
        time: 1_448_000_000 + batch * 5_000 + i,
        event: "pageview",
        path: `/a/path/long/enough/to/fill/pages/${batch}/${i}`,
        ip: `10.2.${batch}.${i % 250}`,
      }));
      expect((await request(`${server.url}/wal.example/bulk`, { body: { list } })).status).toBe(200);
    }
    const shard = join(server.root, "wal.example", "2015-11", "analytics.db");
    const deadline = Date.now() + 5_000;
    while (statSync(shard).size < 4 * 1024 * 1024 && Date.now() < deadline) await Bun.sleep(50);
    // Until a checkpoint, every page written lives in the WAL and the file keeps only its schema.
    expect(statSync(shard).size).toBeGreaterThan(4 * 1024 * 1024);
    expect((await request(`${server.url}/wal.example/count`)).body.total).toBe(60_000);
  } finally {
    await server.stop();
  }
}, 30_000);
