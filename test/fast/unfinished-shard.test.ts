import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openApp, type TestApp } from "../helpers/app";

/**
 * A shard whose writer was killed between creating the file and creating its
 * table (an empty file, or a database with no table yet) holds no event: the
 * query worker, which opens shards read-only and so creates nothing, answers
 * it as an empty month rather than a 500.
 */
let app: TestApp;
beforeAll(async () => {
  app = await openApp();
  expect((await app.request("/cut.example", { body: { time: "2016-01-10T00:00:00Z", ip: "10.0.0.1" } })).status).toBe(200);
  mkdirSync(join(app.root, "cut.example", "2016-02"));
  writeFileSync(join(app.root, "cut.example", "2016-02", "analytics.db"), "");
  mkdirSync(join(app.root, "cut.example", "2016-03"));
  const tableless = new Database(join(app.root, "cut.example", "2016-03", "analytics.db"), { create: true });
  tableless.run("PRAGMA journal_mode = WAL");
  tableless.close();
});
afterAll(() => app.close());

test("months of a shard without its table count nothing, on every route", async () => {
  for (const path of ["/count", "/count?event=", "/countries?unique=true", "/time?interval=week&unique=true", "/paths?path=/*", "/time?tz=Europe/Paris"]) {
    const answer = await app.request(`/cut.example${path}`);
    expect({ path, status: answer.status }).toEqual({ path, status: 200 });
  }
  expect((await app.request("/cut.example/count")).body).toEqual({ total: 1, unique: 1 });
  const { list } = (await app.request("/_websites")).body;
  expect(list).toMatchObject([{ website: "cut.example", events: 1, firstTime: "2016-01-10T00:00:00Z" }]);
});
