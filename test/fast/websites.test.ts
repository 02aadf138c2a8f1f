import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { openApp, type TestApp } from "../helpers/app";

/** `GET /_websites`: every website, by name, with its first and last event, its events and its bytes on disk. */
let app: TestApp;
beforeAll(async () => {
  app = await openApp();
});
afterAll(() => app.close());

function bytesUnder(dir: string): number {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    bytes += entry.isDirectory() ? bytesUnder(path) : statSync(path).size;
  }
  return bytes;
}

describe("GET /_websites", () => {
  test("with no website, an empty list", async () => {
    expect(await app.request("/_websites")).toMatchObject({ status: 200, body: { list: [] } });
  });

  test("every website by name, with what its summaries know, and every byte under its directory", async () => {
    const posted = await app.request("/bulk", {
      body: {
        list: [
          { website: "b.example", time: "2016-01-02T00:00:00Z", ip: "10.0.0.1" },
          { website: "b.example", time: "2015-11-24T13:00:00Z", ip: "10.0.0.2" },
          { website: "b.example", time: "2015-12-31T23:59:59Z", ip: "10.0.0.2" },
          { website: "a.example", time: "2016-03-01T10:00:00Z", ip: "10.0.0.3" },
        ],
      },
    });
    expect(posted.status).toBe(200);
    mkdirSync(join(app.root, "empty.example"));
    const { list } = (await app.request("/_websites")).body;
    expect(list).toEqual([
      { website: "a.example", firstTime: "2016-03-01T10:00:00Z", lastTime: "2016-03-01T10:00:00Z", events: 1, bytes: expect.any(Number) },
      { website: "b.example", firstTime: "2015-11-24T13:00:00Z", lastTime: "2016-01-02T00:00:00Z", events: 3, bytes: expect.any(Number) },
      { website: "empty.example", firstTime: null, lastTime: null, events: 0, bytes: 0 },
    ]);
    for (const { website, bytes } of list) expect(bytes, website).toBe(bytesUnder(join(app.root, website)));
  });

  test("follows new events and deletions", async () => {
    expect((await app.request("/a.example", { body: { time: "2016-03-05T00:00:00Z", ip: "10.0.0.4" } })).status).toBe(200);
    expect((await app.request("/b.example", { method: "DELETE" })).status).toBe(200);
    const { list } = (await app.request("/_websites")).body;
    expect(list.map(({ website, events, lastTime }: any) => ({ website, events, lastTime }))).toEqual([
      { website: "a.example", events: 2, lastTime: "2016-03-05T00:00:00Z" },
      { website: "empty.example", events: 0, lastTime: null },
    ]);
  });

  test("takes no parameter but the original's cache, and only GET", async () => {
    expect(await app.request("/_websites?cache=true")).toMatchObject({ status: 200 });
    expect(await app.request("/_websites?limit=10")).toMatchObject({ status: 400, body: { code: "InvalidParameter" } });
    for (const method of ["POST", "PUT", "DELETE"]) {
      const answer = await app.request("/_websites", { method, raw: method === "POST" ? "{}" : undefined });
      expect({ method, status: answer.status, allow: answer.headers.get("allow") }).toEqual({ method, status: 405, allow: "GET" });
    }
  });
});

describe("GET /_websites behind auth", () => {
  test("needs the credentials the read routes need", async () => {
    const locked = await openApp(["--user", "admin", "--password", "secret"]);
    try {
      expect((await locked.request("/_websites")).status).toBe(401);
      const basic = `Basic ${Buffer.from("admin:secret").toString("base64")}`;
      expect(await locked.request("/_websites", { headers: { authorization: basic } })).toMatchObject({ status: 200, body: { list: [] } });
    } finally {
      locked.close();
    }
  });
});
