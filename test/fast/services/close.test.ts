import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { openApp } from "../../helpers/app";
import { cleanup, scratch } from "../../helpers/cleanup";
import { shardFiles } from "../../helpers/shards";
import { TEST_MS } from "../../helpers/wait";

afterAll(cleanup);
setDefaultTimeout(TEST_MS);

/**
 * Closing the services (as SIGTERM does, once the requests in flight are
 * answered) while the query worker has queries to read the shards: it
 * answers them and then stops, between two tasks, so the writer's
 * connection is each shard's last, and its close folds the WAL into the
 * shard and removes it. A worker cut short mid-query left its read
 * connection open, and the WAL beside the shard: an operator who then
 * copies the shard alone copies it without its last writes.
 */
test("closed with queries queued in the query worker, it answers them, and leaves every shard without a WAL", async () => {
  const root = join(scratch("ma-close-"), "dbs");
  const app = await openApp([], { root });
  const months = Array.from({ length: 12 }, (_, m) => `2015-${String(m + 1).padStart(2, "0")}`);
  const list = months.flatMap((month) =>
    Array.from({ length: 200 }, (_, i) => ({ time: `${month}-${String(1 + (i % 28)).padStart(2, "0")}T12:00:00Z`, event: "view", ip: `10.0.0.${i}` })),
  );
  expect((await app.request("/site.example/bulk", { body: { list } })).status).toBe(200);
  const shards = shardFiles(root);
  expect(shards).toHaveLength(12);
  // The writer keeps its connections, and their WALs, open until it closes.
  expect(shards.filter((shard) => existsSync(`${shard}-wal`))).toHaveLength(12);

  // Handed to the worker now, before the close below asks it to stop: each reads all 12 months.
  const { engine } = app.services.deps;
  const queries = [
    engine.run({ kind: "count", website: "site.example", range: {}, filters: [] }),
    engine.run({ kind: "breakdown", website: "site.example", range: {}, filters: [], dimension: "event", unique: true }),
  ];
  await app.close();
  expect((await Promise.all(queries)).map((body) => JSON.parse(body))).toEqual([{ total: 2400, unique: 200 }, { list: [{ id: "view", label: "view", total: 2400, unique: 200 }] }]);
  expect(shards.filter((shard) => existsSync(`${shard}-wal`))).toEqual([]);
  // The worker ended itself when asked: it did not fail, nor was it cut short.
  expect(app.output()).not.toContain("query worker");
  // And a query after the close is refused at once.
  await expect(engine.run({ kind: "count", website: "site.example", range: {}, filters: [] })).rejects.toThrow("the service is stopping");
});
