import { afterAll, beforeAll, beforeEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { openApp, type TestApp } from "../helpers/app";
import { serveApp, serveLoopback, type ServedApp } from "../helpers/loopback";
import { TEST_MS } from "../helpers/wait";

/**
 * `POST /bulk` on a node started with --router: checked whole, then split by
 * website and sent through the router. The router here is a stand-in on
 * loopback that sends each website to a fixed node (nginx does it by a hash
 * in test/process/cluster.test.ts) and can play a dead node: it answers 502
 * for the websites of `dead`, as nginx does when a node is down. In process,
 * but in this tier: a dead node and an unreachable router are each retried
 * with pauses before the answer, a second or two of waiting.
 */
setDefaultTimeout(TEST_MS);

const TOKEN = "cluster-secret";
const auth = { authorization: `Bearer ${TOKEN}` };
const LIMITS = ["--token", TOKEN, "--max-body-size", "4096"];
const OWNERS: Record<string, "a" | "b"> = { "one.example": "a", "two.example": "b", "three.example": "a", "four.example": "b" };

let nodes: Record<"a" | "b", ServedApp>;
let front: TestApp;
let stopRouter: () => void;
const seen: { path: string; authorization: string | null; list: Record<string, unknown>[] }[] = [];
const dead = new Set<string>();
let inFlight = 0;
let mostInFlight = 0;

beforeAll(async () => {
  const [a, b] = await Promise.all([serveApp(["--node-name", "a", ...LIMITS]), serveApp(["--node-name", "b", ...LIMITS])]);
  nodes = { a, b };
  const router = serveLoopback(async (request) => {
    const url = new URL(request.url);
    const website = url.pathname.split("/")[1]!;
    const body = await request.text();
    seen.push({ path: url.pathname, authorization: request.headers.get("authorization"), list: JSON.parse(body).list });
    if (dead.has(website)) return new Response("<html>502 Bad Gateway</html>", { status: 502, headers: { "content-type": "text/html" } });
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    try {
      return await fetch(nodes[OWNERS[website]!].url + url.pathname, { method: request.method, headers: request.headers, body });
    } finally {
      inFlight--;
    }
  });
  stopRouter = () => void router.server.stop(true);
  front = await openApp(["--node-name", "front", "--router", router.url, "--router-concurrency", "2", ...LIMITS]);
});
afterAll(async () => {
  stopRouter();
  await Promise.all([front.close(), nodes.a.close(), nodes.b.close()]);
});
beforeEach(() => {
  seen.length = 0;
  dead.clear();
  mostInFlight = 0;
});

let runs = 0;
/** Websites of their own for each test: the four owners' names with a prefix the router ignores. */
function websites() {
  const tag = `t${++runs}`;
  for (const [name, owner] of Object.entries(OWNERS)) if (name.includes(".")) OWNERS[`${tag}-${name}`] = owner;
  return { one: `${tag}-one.example`, two: `${tag}-two.example`, three: `${tag}-three.example`, four: `${tag}-four.example` };
}
const bulk = (list: unknown[]) => front.request("/bulk", { body: { list }, headers: auth });
const count = async (node: ServedApp, website: string) => {
  const answer = await node.app.request(`/${website}/count`, { headers: auth });
  return answer.status === 404 ? 0 : answer.body.total;
};
const event = (website: string, i: number, extra: Record<string, unknown> = {}) => ({ website, time: 1448370000 + i, event: "view", path: `/${i}`, ...extra });

describe("a node with --router", () => {
  test("sends each website's events to its owner through the router, with ids and times, and answers the sums", async () => {
    const w = websites();
    const list = [event(w.one, 1), event(w.two, 2), event(w.three, 3), event(w.one, 4, { headers: { "User-Agent": "Mozilla/5.0 (Windows NT 10.0)" } })];
    expect(await bulk(list)).toMatchObject({ status: 200, body: { inserted: 4, duplicates: 0 } });
    expect([await count(nodes.a, w.one), await count(nodes.b, w.two), await count(nodes.a, w.three)]).toEqual([2, 1, 1]);
    expect([await count(nodes.b, w.one), await count(nodes.a, w.two)]).toEqual([0, 0]);

    expect(seen.map((s) => s.path).sort()).toEqual([`/${w.one}/bulk`, `/${w.three}/bulk`, `/${w.two}/bulk`]);
    expect(seen.every((s) => s.authorization === `Bearer ${TOKEN}`)).toBe(true);
    const forwarded = seen.flatMap((s) => s.list);
    expect(forwarded.every((e) => typeof e.id === "string" && (e.id as string).startsWith("~") && typeof e.time === "number" && !("website" in e))).toBe(true);
    // Enrichment happens at the owner, from what the client sent.
    const platforms = (await nodes.a.app.request(`/${w.one}/platforms`, { headers: auth })).body.list;
    expect(platforms).toContainEqual({ id: "Windows", label: "Windows", total: 1, unique: 0 });
  });

  test("the same body sent again stores nothing twice; the client's own ids are kept", async () => {
    const w = websites();
    const list = [event(w.one, 1), event(w.two, 2, { id: "client-2" }), event(w.four, 3)];
    expect((await bulk(list)).body).toEqual({ inserted: 3, duplicates: 0 });
    expect((await bulk(list)).body).toEqual({ inserted: 0, duplicates: 3 });
    expect([await count(nodes.a, w.one), await count(nodes.b, w.two), await count(nodes.b, w.four)]).toEqual([1, 1, 1]);
    expect(seen.flatMap((s) => s.list).filter((e) => e.id === "client-2")).toHaveLength(2);
    // A client id is the website's: sent to the owner directly, it is the same event.
    expect((await nodes.b.app.request(`/${w.two}`, { body: { time: 1448370002, id: "client-2" }, headers: auth })).body).toEqual({ inserted: 0, duplicates: 1 });
  });

  test("events with neither time nor id are new events each time the body is sent", async () => {
    const w = websites();
    const list = [{ website: w.one, path: "/now" }, event(w.two, 1)];
    expect((await bulk(list)).body).toEqual({ inserted: 2, duplicates: 0 });
    expect((await bulk(list)).body).toEqual({ inserted: 2, duplicates: 0 });
    expect([await count(nodes.a, w.one), await count(nodes.b, w.two)]).toEqual([2, 2]);
  });

  test("with a node down, answers 502 naming what was stored and what was not; the same request later ends exact", async () => {
    const w = websites();
    const list = [event(w.one, 1), event(w.two, 2), event(w.two, 3), event(w.three, 4)];
    dead.add(w.two);
    const failed = await bulk(list);
    expect(failed.status).toBe(502);
    expect(failed.body.code).toBe("ForwardFailed");
    expect(failed.body.stored.map((s: { website: string }) => s.website).sort()).toEqual([w.one, w.three].sort());
    expect(failed.body.unstored).toEqual([{ website: w.two, events: 2, reason: "502" }]);
    expect(failed.body.message).toContain(w.two);
    expect(failed.body.message).toContain("Send the same request again");
    // It tried the dead node's part more than once before giving up.
    expect(seen.filter((s) => s.path === `/${w.two}/bulk`).length).toBe(3);

    dead.clear();
    expect((await bulk(list)).body).toEqual({ inserted: 2, duplicates: 2 });
    expect([await count(nodes.a, w.one), await count(nodes.b, w.two), await count(nodes.a, w.three)]).toEqual([1, 2, 1]);
  });

  test("sends at most --router-concurrency parts at once", async () => {
    const names = Array.from({ length: 10 }, (_, i) => {
      const name = `wide-${runs}-${i}.example`;
      OWNERS[name] = i % 2 === 0 ? "a" : "b";
      return name;
    });
    expect((await bulk(names.map((name, i) => event(name, i)))).body).toEqual({ inserted: 10, duplicates: 0 });
    expect(seen).toHaveLength(10);
    expect(mostInFlight).toBeLessThanOrEqual(2);
  });

  test("splits a website's events that would be over --max-body-size into several requests", async () => {
    const w = websites();
    // Without a time, each event gains one and an id on its way: the parts grow past what the client sent.
    const list = Array.from({ length: 36 }, (_, i) => ({ website: w.one, path: `/${i}`.padEnd(60, "p") }));
    expect(JSON.stringify({ list }).length).toBeLessThan(4096);
    expect((await bulk(list)).body).toEqual({ inserted: 36, duplicates: 0 });
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.every((s) => JSON.stringify({ list: s.list }).length <= 4096)).toBe(true);
    expect(await count(nodes.a, w.one)).toBe(36);
  });

  test("checks the whole body first: an invalid item sends nothing anywhere", async () => {
    const w = websites();
    const answer = await bulk([event(w.one, 1), { website: w.two, time: "yesterday" }]);
    expect(answer.status).toBe(400);
    expect(answer.body.message).toContain("list[1].time");
    expect(seen).toHaveLength(0);
  });

  test("with the router unreachable, stores nothing and says so", async () => {
    const lonely = await openApp(["--router", "http://127.0.0.1:1", "--token", TOKEN]);
    try {
      const answer = await lonely.request("/bulk", { body: { list: [event("x.example", 1)] }, headers: auth });
      expect(answer.status).toBe(502);
      expect(answer.body.unstored[0].reason).toContain("the router did not answer");
      expect(answer.body.stored).toEqual([]);
    } finally {
      lonely.close();
    }
  });
});
