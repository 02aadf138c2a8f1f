/**
 * Which credential opens which route: full credentials (--user/--password,
 * --token) open everything; --ingest-token opens only the POST routes;
 * --ingest-auth none leaves the POST routes open while the rest stays
 * closed. Tokens in URLs are refused.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type TestApp, variantsOfOneApp } from "../helpers/app";

const EVENT = { time: "2015-11-24T13:00:00Z", event: "download", path: "/README.md", ip: "127.0.0.1" };
const basic = (user: string, password: string) => ({ authorization: `Basic ${btoa(`${user}:${password}`)}` });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The three write routes, each writing one event to `site`. */
function writes(site: string): [string, string, unknown][] {
  return [
    ["POST /:website", `/${site}`, EVENT],
    ["POST /:website/bulk", `/${site}/bulk`, { list: [EVENT] }],
    ["POST /bulk", "/bulk", { list: [{ ...EVENT, website: site }] }],
  ];
}

/** The routes that read or delete; `site` must exist. */
function reads(site: string): [string, string, string][] {
  return [
    ["GET /:website", "GET", `/${site}`],
    ["GET /:website/count", "GET", `/${site}/count`],
    ["GET /:website/events", "GET", `/${site}/events`],
    ["GET /_metrics", "GET", "/_metrics"],
    ["DELETE /:website", "DELETE", `/${site}`],
  ];
}

async function statusOfWrites(app: TestApp, site: string, headers: Record<string, string>) {
  const out: Record<string, number> = {};
  for (const [label, path, body] of writes(site)) out[label] = (await app.request(path, { body, headers })).status;
  return out;
}

async function statusOfReads(app: TestApp, site: string, headers: Record<string, string>, except: string[] = []) {
  const out: Record<string, number> = {};
  for (const [label, method, path] of reads(site)) {
    if (!except.includes(label)) out[label] = (await app.request(path, { method, headers })).status;
  }
  return out;
}

const all = (labels: string[], status: number) => Object.fromEntries(labels.map((label) => [label, status]));
const WRITE_LABELS = writes("x").map(([label]) => label);
const READ_LABELS = reads("x").map(([label]) => label);
const READ_LABELS_NO_DELETE = READ_LABELS.filter((label) => label !== "DELETE /:website");

const variant = variantsOfOneApp();

async function countOf(app: TestApp, site: string, headers: Record<string, string>): Promise<number> {
  const answer = await app.request(`/${site}/count`, { headers });
  expect(answer.status).toBe(200);
  return answer.body.total;
}

describe("--token t --ingest-token w", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = variant(["--token", "t", "--ingest-token", "w"]);
  });
  afterAll(() => app.close());

  test("the ingest token opens every POST route, and the events are stored", async () => {
    expect(await statusOfWrites(app, "ingest.example", bearer("w"))).toEqual(all(WRITE_LABELS, 200));
    expect(await countOf(app, "ingest.example", bearer("t"))).toBe(3);
  });

  test("the ingest token opens no read, no DELETE, no /_metrics: 403, and nothing is deleted", async () => {
    expect(await statusOfReads(app, "ingest.example", bearer("w"))).toEqual(all(READ_LABELS, 403));
    const refused = await app.request("/ingest.example", { method: "DELETE", headers: bearer("w") });
    expect(refused.body.code).toBe("Forbidden");
    expect(refused.body.message).toContain("POST");
    expect(existsSync(join(app.root, "ingest.example"))).toBe(true);
  });

  test("the full token opens everything", async () => {
    expect(await statusOfWrites(app, "full.example", bearer("t"))).toEqual(all(WRITE_LABELS, 200));
    expect(await statusOfReads(app, "full.example", bearer("t"))).toEqual(all(READ_LABELS, 200));
  });

  test("no credentials or a wrong token: 401 on every route, with a Bearer challenge, and nothing written", async () => {
    for (const headers of [{}, bearer("nope")] as Record<string, string>[]) {
      expect(await statusOfWrites(app, "ghost.example", headers)).toEqual(all(WRITE_LABELS, 401));
      expect(await statusOfReads(app, "ingest.example", headers)).toEqual(all(READ_LABELS, 401));
    }
    const refused = await app.request("/ghost.example", { body: EVENT });
    expect(refused.headers.get("www-authenticate")).toContain("Bearer");
    expect(existsSync(join(app.root, "ghost.example"))).toBe(false);
  });

  test("GET / and /_health stay open", async () => {
    expect((await app.request("/")).status).toBe(200);
    expect((await app.request("/_health")).status).toBe(200);
  });
});

describe("--user u --password p --ingest-token w", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = variant(["--user", "u", "--password", "p", "--ingest-token", "w"]);
  });
  afterAll(() => app.close());

  test("writers use the ingest token, readers basic auth", async () => {
    expect(await statusOfWrites(app, "mixed.example", bearer("w"))).toEqual(all(WRITE_LABELS, 200));
    expect(await statusOfReads(app, "mixed.example", basic("u", "p"), ["DELETE /:website"])).toEqual(all(READ_LABELS_NO_DELETE, 200));
    expect(await statusOfReads(app, "mixed.example", bearer("w"))).toEqual(all(READ_LABELS, 403));
  });

  test("a POST's challenge offers both schemes, a read's only Basic", async () => {
    const post = await app.request("/mixed.example", { body: EVENT });
    expect(post.status).toBe(401);
    expect(post.headers.get("www-authenticate")).toContain("Basic");
    expect(post.headers.get("www-authenticate")).toContain("Bearer");
    const read = await app.request("/mixed.example/count");
    expect(read.status).toBe(401);
    expect(read.headers.get("www-authenticate")).toBe('Basic realm="micro-analytics"');
  });
});

describe("--user u --password p --ingest-auth none", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = variant(["--user", "u", "--password", "p", "--ingest-auth", "none"]);
  });
  afterAll(() => app.close());

  test("the POST routes need no credentials", async () => {
    expect(await statusOfWrites(app, "beacon.example", {})).toEqual(all(WRITE_LABELS, 200));
    expect(await countOf(app, "beacon.example", basic("u", "p"))).toBe(3);
  });

  test("reads, DELETE and /_metrics still need them", async () => {
    expect(await statusOfReads(app, "beacon.example", {})).toEqual(all(READ_LABELS, 401));
    expect(await statusOfReads(app, "beacon.example", basic("u", "wrong"))).toEqual(all(READ_LABELS, 401));
    expect(existsSync(join(app.root, "beacon.example"))).toBe(true);
    expect(await statusOfReads(app, "beacon.example", basic("u", "p"))).toEqual(all(READ_LABELS, 200));
  });
});

describe("tokens in URLs (--token t)", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = variant(["--user", "u", "--password", "p", "--token", "t"]);
    expect((await app.request("/url.example", { body: EVENT, headers: bearer("t") })).status).toBe(200);
  });
  afterAll(() => app.close());

  test("?access_token= is refused with a 400 that says to use the Authorization header, also when it is right", async () => {
    for (const path of ["/url.example/count?access_token=t", "/url.example?access_token=t", "/_metrics?access_token=t"]) {
      const answer = await app.request(path);
      expect({ path, status: answer.status, code: answer.body.code }).toEqual({ path, status: 400, code: "InvalidParameter" });
      expect(answer.body.message).toContain("Authorization");
    }
    const post = await app.request("/url.example?access_token=t", { body: EVENT });
    expect(post.status).toBe(400);
    expect(await countOf(app, "url.example", bearer("t"))).toBe(1);
  });

  test("a token in the URL beside valid basic credentials is refused by its name, not as wrong credentials", async () => {
    const answer = await app.request("/url.example/count?access_token=wrong", { headers: basic("u", "p") });
    expect({ status: answer.status, code: answer.body.code }).toEqual({ status: 400, code: "InvalidParameter" });
    expect(answer.body.message).toContain("access_token");
  });

  test("the bearer scheme's name is matched in any case, and a token must follow it", async () => {
    expect((await app.request("/url.example/count", { headers: { authorization: "bearer t" } })).status).toBe(200);
    expect((await app.request("/url.example/count", { headers: { authorization: "BEARER t" } })).status).toBe(200);
    expect((await app.request("/url.example/count", { headers: { authorization: "Bearert" } })).status).toBe(401);
    expect((await app.request("/url.example/count", { headers: { authorization: "Bearer t2" } })).status).toBe(401);
  });
});
