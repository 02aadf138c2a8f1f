import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "../helpers/files";
import { openApp, type TestApp } from "../helpers/app";

let app: TestApp;
beforeAll(async () => {
  app = await openApp();
});
afterAll(() => app.close());

const NOVEMBER = "2015-11-24T13:00:00Z";
const DECEMBER = "2015-12-02T09:00:00Z";
let sites = 0;
const site = (name: string) => `${name}-${++sites}.example`;
const event = (id: string | undefined, time = NOVEMBER, path = "/") => ({ time, path, event: "view", ip: "8.8.8.8", ...(id === undefined ? {} : { id }) });
const total = async (website: string) => (await app.request(`/${website}/count`)).body.total;
const shard = (website: string, month = "2015-11") => join(app.root, website, month, "analytics.db");

describe("events without ids", () => {
  test("are answered exactly as before, {inserted: N}, and leave the shard's schema as the original's", async () => {
    const website = site("plain");
    expect(await app.request(`/${website}`, { body: event(undefined) })).toMatchObject({ status: 200, body: { inserted: 1 } });
    const bulk = await app.request(`/${website}/bulk`, { body: { list: [event(undefined), event(undefined)] } });
    expect(bulk.body).toEqual({ inserted: 2 });
    const multi = await app.request("/bulk", { body: { list: [{ ...event(undefined), website }] } });
    expect(multi.body).toEqual({ inserted: 1 });
    expect(await total(website)).toBe(4);
    const tables = inspect(shard(website), (db) => db.query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table'").all());
    expect(tables.map((t) => t.name)).toEqual(["visits"]);
  });
});

describe("events with ids", () => {
  test("are stored once: the answer says how many were new and how many were stored before", async () => {
    const website = site("ids");
    const list = [event("a"), event("b"), event("c")];
    expect(await app.request(`/${website}/bulk`, { body: { list } })).toMatchObject({ status: 200, body: { inserted: 3, duplicates: 0 } });
    expect(await app.request(`/${website}/bulk`, { body: { list } })).toMatchObject({ status: 200, body: { inserted: 0, duplicates: 3 } });
    expect(await app.request(`/${website}`, { body: event("b") })).toMatchObject({ status: 200, body: { inserted: 0, duplicates: 1 } });
    expect(await app.request(`/${website}/bulk`, { body: { list: [event("c"), event("d")] } })).toMatchObject({ body: { inserted: 1, duplicates: 1 } });
    expect(await total(website)).toBe(4);
  });

  test("the visits table keeps its columns; the ids live in a table of their own beside it", async () => {
    const website = site("schema");
    await app.request(`/${website}`, { body: event("only") });
    const { columns, ids } = inspect(shard(website), (db) => ({
      columns: db.query<{ name: string }, []>("PRAGMA table_info(visits)").all().map((c) => c.name),
      ids: db.query<{ id: string }, []>("SELECT id FROM event_ids").all().map((r) => r.id),
    }));
    expect(columns).toEqual(["time", "event", "path", "ip", "platform", "refererDomain", "countryCode"]);
    expect(ids).toEqual(["only"]);
  });

  test("the same id twice in one request is stored once; events without an id beside them always are", async () => {
    const website = site("same-request");
    const answer = await app.request(`/${website}/bulk`, { body: { list: [event("x"), event(undefined), event("x"), event(undefined)] } });
    expect(answer.body).toEqual({ inserted: 3, duplicates: 1 });
    expect(await total(website)).toBe(3);
  });

  test("the first event with an id wins: a later one with the same id and other fields is a duplicate", async () => {
    const website = site("first-wins");
    await app.request(`/${website}`, { body: event("e1", NOVEMBER, "/first") });
    expect((await app.request(`/${website}`, { body: event("e1", "2015-11-25T00:00:00Z", "/second") })).body).toEqual({ inserted: 0, duplicates: 1 });
    const list = (await app.request(`/${website}`)).body.list;
    expect(list.map((e: { path: string }) => e.path)).toEqual(["/first"]);
  });

  test("ids are per website, and per month: the same id with a time in another month is another event", async () => {
    const one = site("per-website");
    const two = site("per-website");
    expect((await app.request(`/${one}`, { body: event("shared") })).body).toEqual({ inserted: 1, duplicates: 0 });
    expect((await app.request(`/${two}`, { body: event("shared") })).body).toEqual({ inserted: 1, duplicates: 0 });
    expect((await app.request(`/${one}`, { body: event("shared", DECEMBER) })).body).toEqual({ inserted: 1, duplicates: 0 });
    expect(await total(one)).toBe(2);
  });

  test("requests racing with the same ids, committed together, store each id once", async () => {
    const website = site("race");
    const list = Array.from({ length: 20 }, (_, i) => event(`r${i}`));
    const answers = await Promise.all(Array.from({ length: 5 }, () => app.request(`/${website}/bulk`, { body: { list } })));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers.reduce((sum, a) => sum + a.body.inserted, 0)).toBe(20);
    expect(answers.reduce((sum, a) => sum + a.body.duplicates, 0)).toBe(80);
    expect(await total(website)).toBe(20);
  });

  test("POST /bulk counts duplicates over every website it writes to", async () => {
    const one = site("multi");
    const two = site("multi");
    const list = [
      { ...event("m1"), website: one },
      { ...event("m2"), website: two },
      { ...event("m3", DECEMBER), website: two },
    ];
    expect((await app.request("/bulk", { body: { list } })).body).toEqual({ inserted: 3, duplicates: 0 });
    expect((await app.request("/bulk", { body: { list: [...list, { ...event("m4"), website: one }] } })).body).toEqual({ inserted: 1, duplicates: 3 });
    expect([await total(one), await total(two)]).toEqual([2, 2]);
  });

  test("an id of 128 printable ASCII characters is taken", async () => {
    const website = site("long-id");
    const id = "~!#$%&'()*+,-./0123456789:;<=>?@AZ[\\]^_`az{|}".padEnd(128, "z");
    expect((await app.request(`/${website}`, { body: event(id) })).body).toEqual({ inserted: 1, duplicates: 0 });
    expect((await app.request(`/${website}`, { body: event(id) })).body).toEqual({ inserted: 0, duplicates: 1 });
  });

  test.each([
    ["a number", 42, "must be a string, not a number"],
    ["null", null, "must be a string, not null"],
    ["empty", "", "is not an event id"],
    ["129 characters", "x".repeat(129), "is not an event id"],
    ["a space", "a b", "is not an event id"],
    ["not ASCII", "café", "is not an event id"],
  ])("an id that is %s is refused with 400 naming the item, and nothing of the request is stored", async (_, id, problem) => {
    const website = site("bad-id");
    const answer = await app.request(`/${website}/bulk`, { body: { list: [event("fine"), { ...event(undefined), id }] } });
    expect(answer.status).toBe(400);
    expect(answer.body.code).toBe("InvalidEvent");
    expect(answer.body.message).toContain("list[1].id: ");
    expect(answer.body.message).toContain(problem);
    expect(existsSync(join(app.root, website))).toBe(false);
  });
});
