import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { openApp, type TestApp } from "../helpers/app";

let app: TestApp;
beforeAll(async () => {
  app = await openApp();
});
afterAll(() => app.close());

test("the app answers in process, on real shards and the embedded GeoIP database", async () => {
  expect(await app.request("/")).toMatchObject({ status: 200, body: { message: "Welcome to micro-analytics!" } });
  const posted = await app.request("/in-process.example", { body: { time: "2015-11-24T13:00:00Z", event: "view", ip: "8.8.8.8" } });
  expect(posted).toMatchObject({ status: 200, body: { inserted: 1 } });
  expect(existsSync(join(app.root, "in-process.example", "2015-11", "analytics.db"))).toBe(true);
  expect((await app.request("/in-process.example/countries")).body).toEqual({
    list: [{ id: "us", label: "United States of America", total: 1, unique: 0 }],
  });
});
