import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { WebsiteMoves } from "../../src/store/moves";
import { inspect } from "../helpers/files";
import { serveApp, type ServedApp } from "../helpers/loopback";
import { waitFor } from "../helpers/wait";

/**
 * Moving a website between two nodes over real loopback HTTP, as rebalance
 * asks it of the old owner: `POST /_cluster/move/:website`. Both nodes have
 * the same token, as every node of a cluster has the same credentials.
 */
const TOKEN = "cluster-secret";
const auth = { authorization: `Bearer ${TOKEN}` };
let a: ServedApp;
let b: ServedApp;
beforeAll(async () => {
  [a, b] = await Promise.all([serveApp(["--node-name", "node-a", "--token", TOKEN]), serveApp(["--node-name", "node-b", "--token", TOKEN])]);
});
afterAll(() => Promise.all([a.close(), b.close()]));

let sites = 0;
const site = (name: string) => `${name}-${++sites}.example`;
const post = (node: ServedApp, path: string, body: unknown) => node.app.request(path, { body, headers: auth });
const get = (node: ServedApp, path: string) => node.app.request(path, { headers: auth });
const move = (website: string, from = a, to = b) =>
  from.app.request(`/_cluster/move/${website}`, { body: { to: to.url, self: from.url }, headers: auth });
const event = (id: string | undefined, time: string) => ({ time, event: "view", path: "/", ip: "8.8.8.8", ...(id === undefined ? {} : { id }) });

/** Three months of events, some with ids. */
async function seed(website: string): Promise<number> {
  const list = [
    ...Array.from({ length: 30 }, (_, i) => event(`old-${i}`, "2015-10-0" + ((i % 9) + 1) + "T10:00:00Z")),
    ...Array.from({ length: 20 }, () => event(undefined, "2015-11-24T13:00:00Z")),
    ...Array.from({ length: 10 }, (_, i) => event(`now-${i}`, new Date().toISOString())),
  ];
  expect((await post(a, `/${website}/bulk`, { list })).status).toBe(200);
  return list.length;
}

describe("a move", () => {
  test("copies every month to the new owner, ids included, and reports what it moved", async () => {
    const website = site("whole");
    const events = await seed(website);
    const moved = await move(website);
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ website, to: "node-b", months: 3, events, ids: 40 });
    expect(moved.body.holdMs).toBeGreaterThanOrEqual(0);
    expect((await get(b, `/${website}/count`)).body.total).toBe(events);
    expect(readdirSync(join(b.app.root, website)).sort()).toEqual(["2015-10", "2015-11", new Date().toISOString().slice(0, 7)].sort());
    // The ids came along: an event sent again to the new owner is not stored twice.
    expect((await post(b, `/${website}`, event("old-3", "2015-10-04T10:00:00Z"))).body).toEqual({ inserted: 0, duplicates: 1 });
    // Nothing is left half-made on either side.
    expect(readdirSync(b.app.root).filter((name) => name.startsWith("."))).not.toContain(`.import-${website}`);
    expect(readdirSync(a.app.root).some((name) => name.startsWith(".export-"))).toBe(false);
  });

  test("leaves the old owner refusing the website's writes with 421, for good, while its frozen copy answers reads until it is removed", async () => {
    const website = site("refused");
    const events = await seed(website);
    expect((await move(website)).status).toBe(200);

    const write = await post(a, `/${website}`, event("late", "2015-11-24T13:00:00Z"));
    expect(write.status).toBe(421);
    expect(write.body).toMatchObject({ code: "WebsiteMoved" });
    expect(write.body.message).toContain("node-b");
    expect((await post(a, "/bulk", { list: [{ ...event(undefined, "2015-11-24T13:00:00Z"), website }] })).status).toBe(421);
    expect((await a.app.request(`/${website}`, { method: "DELETE", headers: auth })).status).toBe(421);
    expect((await get(a, `/${website}/count`)).body.total).toBe(events);

    const marks = await get(a, "/_cluster/moved");
    expect(marks.body.list).toContainEqual({ website, to: "node-b", copy: true });
    expect((await a.app.request(`/_cluster/moved/${website}`, { method: "DELETE", headers: auth })).body).toEqual({ website, removed: true });
    expect(existsSync(join(a.app.root, website))).toBe(false);
    expect((await get(a, `/${website}/count`)).status).toBe(421);
    expect((await get(a, "/_cluster/moved")).body.list).toContainEqual({ website, to: "node-b", copy: false });
    // The mark is a file: a restarted node reads it again.
    expect(new WebsiteMoves(a.app.root).movedTo(website)).toBe("node-b");
    expect((await get(a, "/_cluster/websites")).body.list).not.toContain(website);
  });

  test("back to a node it once left clears that node's mark", async () => {
    const website = site("round-trip");
    const events = await seed(website);
    expect((await move(website, a, b)).status).toBe(200);
    expect((await a.app.request(`/_cluster/moved/${website}`, { method: "DELETE", headers: auth })).status).toBe(200);
    expect((await move(website, b, a)).body).toMatchObject({ to: "node-a", events });
    expect((await post(a, `/${website}`, event("after", "2015-11-24T13:00:00Z"))).body).toEqual({ inserted: 1, duplicates: 0 });
    expect((await get(a, `/${website}/count`)).body.total).toBe(events + 1);
    expect((await post(b, `/${website}`, event(undefined, "2015-11-24T13:00:00Z"))).status).toBe(421);
  });

  test("keeps every acknowledged event exactly once while a writer posts to the website throughout", async () => {
    const website = site("busy");
    await seed(website);
    const acked = new Set<string>();
    let next = 0;
    let refusals = 0;
    let stop = false;
    // The writer follows the protocol a client behind the router sees: 503 and 421 mean "try again";
    // once the old owner says 421, the router has (in this test) been switched to the new owner.
    let owner = a;
    const writer = (async () => {
      while (!stop || owner === a) {
        const ids = Array.from({ length: 5 }, () => `w-${next++}`);
        const list = ids.map((id) => event(id, new Date().toISOString()));
        for (;;) {
          const answer = await post(owner, `/${website}/bulk`, { list });
          if (answer.status === 200) break;
          expect([421, 503]).toContain(answer.status);
          refusals++;
          if (answer.status === 421) owner = b;
          // A client backs off before it tries again (in process, a refusal would otherwise never let I/O in).
          await Bun.sleep(5);
        }
        for (const id of ids) acked.add(id);
      }
    })();
    await waitFor("the writer to have some events acknowledged", () => acked.size >= 50);
    const moved = await move(website);
    expect(moved.status).toBe(200);
    await waitFor("the writer to be sent on to the new owner", () => owner === b);
    stop = true;
    await writer;

    const stored = inspect(join(b.app.root, website, new Date().toISOString().slice(0, 7), "analytics.db"), (db) =>
      db.query<{ id: string }, []>("SELECT id FROM event_ids WHERE id LIKE 'w-%'").all().map((row) => row.id),
    );
    expect(stored.length).toBe(acked.size);
    expect(new Set(stored)).toEqual(acked);
    const rows = (await get(b, `/${website}/count`)).body.total;
    expect(rows).toBe(60 + acked.size);
    expect(refusals).toBeGreaterThan(0);
  });

  test("to a node that has the website already is refused, and the old owner keeps taking writes", async () => {
    const website = site("conflict");
    await seed(website);
    await post(b, `/${website}`, event(undefined, "2015-11-24T13:00:00Z"));
    const refused = await move(website);
    expect(refused.status).toBe(502);
    expect(refused.body.code).toBe("MoveFailed");
    expect(refused.body.message).toContain("already");
    expect((await post(a, `/${website}`, event(undefined, "2015-11-24T13:00:00Z"))).status).toBe(200);
    expect((await get(b, `/${website}/count`)).body.total).toBe(1);
  });

  test("to a node that does not answer fails and holds nothing back", async () => {
    const website = site("unreachable");
    await seed(website);
    const refused = await a.app.request(`/_cluster/move/${website}`, { body: { to: "http://127.0.0.1:1", self: a.url }, headers: auth });
    expect(refused.status).toBe(502);
    expect((await post(a, `/${website}`, event(undefined, "2015-11-24T13:00:00Z"))).status).toBe(200);
    expect((await get(a, "/_cluster/moved")).body.list.map((m: { website: string }) => m.website)).not.toContain(website);
  });

  test("the new owner installs a copy only with exactly the counts the old owner gives", async () => {
    const website = site("counted");
    await seed(website);
    const pulled = await post(b, `/_cluster/import/${website}/2015-10`, { from: a.url });
    expect(pulled.body).toMatchObject({ website, month: "2015-10", events: 30, ids: 30 });
    expect((await get(b, `/_cluster/import/${website}`)).body.state).toBe("staged");
    expect((await get(b, `/${website}/count`)).status).toBe(404);
    const wrong = await b.app.request(`/_cluster/import/${website}`, { method: "PUT", body: { months: { "2015-10": { events: 29, ids: 30 } } }, headers: auth });
    expect(wrong.status).toBe(409);
    const missing = await b.app.request(`/_cluster/import/${website}`, { method: "PUT", body: { months: { "2015-11": { events: 20, ids: 0 } } }, headers: auth });
    expect(missing.status).toBe(409);
    expect((await b.app.request(`/_cluster/import/${website}`, { method: "DELETE", headers: auth })).body.state).toBe("none");
  });

  test("the internal routes need the cluster's credentials", async () => {
    expect((await a.app.request("/_cluster/moved")).status).toBe(401);
    expect((await a.app.request(`/_cluster/move/x.example`, { body: { to: b.url, self: a.url } })).status).toBe(401);
    expect((await a.app.request("/_cluster/export/x.example/2015-10")).status).toBe(401);
  });

  test("are POSTs that no ingest credential opens: neither an ingest token nor open ingest", async () => {
    const open = await serveApp(["--token", TOKEN, "--ingest-auth", "none"]);
    const ingest = await serveApp(["--token", TOKEN, "--ingest-token", "writer"]);
    try {
      expect((await open.app.request("/open.example", { body: { time: "2015-11-24T13:00:00Z" } })).status).toBe(200);
      expect((await open.app.request("/_cluster/move/open.example", { body: { to: b.url, self: open.url } })).status).toBe(401);
      expect((await open.app.request("/_cluster/import/open.example/2015-11", { body: { from: a.url } })).status).toBe(401);
      const writer = { authorization: "Bearer writer" };
      expect((await ingest.app.request("/ingest.example", { body: { time: "2015-11-24T13:00:00Z" }, headers: writer })).status).toBe(200);
      expect((await ingest.app.request("/_cluster/move/ingest.example", { body: { to: b.url, self: ingest.url }, headers: writer })).status).toBe(403);
    } finally {
      await Promise.all([open.close(), ingest.close()]);
    }
  });
});
