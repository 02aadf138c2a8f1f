import { afterAll, afterEach, beforeAll, expect, spyOn, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { rebalance } from "../../src/commands/rebalance";
import { loadConfig } from "../../src/config/config";
import { serveApp, serveLoopback, type ServedApp } from "../helpers/loopback";

/**
 * The rebalance command against two nodes served on loopback and a stand-in
 * for the router with the new list of nodes: it sends each website to the
 * node `next` names (nginx does it by a hash in test/process/cluster.test.ts).
 */
const TOKEN = "cluster-secret";
const auth = { authorization: `Bearer ${TOKEN}` };
let a: ServedApp;
let b: ServedApp;
const next = new Map<string, "a" | "b">();
let routerUrl: string;
let stopRouter: () => void;
let routerDown = false;

beforeAll(async () => {
  [a, b] = await Promise.all([serveApp(["--node-name", "a", "--token", TOKEN]), serveApp(["--node-name", "b", "--token", TOKEN])]);
  const router = serveLoopback(async (request) => {
    if (routerDown) return new Response("down", { status: 502 });
    const url = new URL(request.url);
    const owner = next.get(url.pathname.split("/")[1]!) === "b" ? b : a;
    return fetch(owner.url + url.pathname, { method: request.method, headers: request.headers, body: request.body });
  });
  routerUrl = router.url;
  stopRouter = () => void router.server.stop(true);
});
afterAll(() => {
  stopRouter();
  a.close();
  b.close();
});

const lines: string[] = [];
const errors: string[] = [];
const out = spyOn(console, "log").mockImplementation((line: string) => void lines.push(line));
const err = spyOn(console, "error").mockImplementation((line: string) => void errors.push(line));
afterEach(() => {
  lines.length = 0;
  errors.length = 0;
});
afterAll(() => {
  out.mockRestore();
  err.mockRestore();
});

async function run(...flags: string[]): Promise<number> {
  const command = loadConfig(["rebalance", ...flags, "--router", routerUrl, "--nodes", `${a.url},${b.url}`, "--token", TOKEN], {});
  if (command.name !== "rebalance") throw new Error("expected rebalance");
  return rebalance(command.config, command);
}
const post = (node: ServedApp, website: string, id: string) => node.app.request(`/${website}`, { body: { id, time: "2015-11-24T13:00:00Z" }, headers: auth });
const total = async (node: ServedApp, website: string) => {
  const answer = await node.app.request(`/${website}/count`, { headers: auth });
  return answer.status === 200 ? answer.body.total : answer.status;
};

test("a dry run prints the plan and changes nothing; the run moves; --finish removes the old copies", async () => {
  for (const [website, owner] of [["stay.example", "a"], ["go.example", "b"]] as const) {
    next.set(website, owner);
    expect((await post(a, website, "1")).status).toBe(200);
  }
  expect(await run("--dry-run")).toBe(0);
  expect(lines).toContain("move   go.example: a -> b");
  expect(lines.at(-1)).toMatch(/^plan: 1 of \d+ websites move/);
  expect(await total(b, "go.example")).toBe(404);

  expect(await run()).toBe(0);
  expect(lines.some((line) => /^moved go\.example: a -> b, 1 months, 1 events/.test(line))).toBe(true);
  expect(await total(b, "go.example")).toBe(1);
  expect((await post(a, "go.example", "2")).status).toBe(421);

  expect(await run("--finish")).toBe(0);
  expect(lines).toContain("removed the old copy of go.example on a (now on b)");
  expect(existsSync(join(a.app.root, "go.example"))).toBe(false);
  expect(await total(a, "stay.example")).toBe(1);
  expect((await a.app.request("/_cluster/rebalance", { headers: auth })).body).toEqual({ router: null });
});

test("while a rebalance runs, a website new on a node is refused there (421) unless the new router gives it to that node", async () => {
  expect((await a.app.request("/_cluster/rebalance", { method: "PUT", body: { router: routerUrl }, headers: auth })).status).toBe(200);
  next.set("new-for-b.example", "b");
  next.set("new-for-a.example", "a");
  const refused = await post(a, "new-for-b.example", "1");
  expect(refused.status).toBe(421);
  expect(refused.body.message).toContain("will belong to the node b");
  expect(existsSync(join(a.app.root, "new-for-b.example"))).toBe(false);
  expect((await post(a, "new-for-a.example", "1")).status).toBe(200);
  expect((await post(a, "stay.example", "2")).status).toBe(200);

  routerDown = true;
  const undecided = await post(a, "unknown.example", "1");
  routerDown = false;
  expect(undecided.status).toBe(503);
  expect(undecided.headers.get("retry-after")).toBe("1");

  expect((await a.app.request("/_cluster/rebalance", { method: "DELETE", headers: auth })).status).toBe(200);
  expect((await post(a, "new-for-b.example", "1")).status).toBe(200);
});

test("a website on two nodes is left alone and named; the others still move", async () => {
  next.set("twice.example", "b");
  next.set("also.example", "b");
  await post(a, "twice.example", "1");
  await post(b, "twice.example", "1");
  await post(a, "also.example", "1");
  expect(await run()).toBe(1);
  expect(errors.some((line) => line.includes("twice.example is on a and b"))).toBe(true);
  expect(await total(b, "also.example")).toBe(1);
  expect(await total(b, "twice.example")).toBe(1);
  expect(await total(a, "twice.example")).toBe(1);
  // Until every website has moved, --finish leaves the rebalance on.
  expect(await run("--finish")).toBe(1);
  expect((await b.app.request("/_cluster/rebalance", { headers: auth })).body).toEqual({ router: routerUrl });
  await b.app.request("/twice.example", { method: "DELETE", headers: auth });
  expect(await run()).toBe(0);
  expect(await run("--finish")).toBe(0);
  expect((await b.app.request("/_cluster/rebalance", { headers: auth })).body).toEqual({ router: null });
});

test("a move whose new owner lost the website is done again from the old owner's frozen copy", async () => {
  next.set("lost.example", "b");
  await post(a, "lost.example", "1");
  await post(a, "lost.example", "2");
  expect(await run()).toBe(0);
  // The new owner loses it before the router is switched (its disk is replaced, say); the old owner still refuses its writes.
  expect((await b.app.request("/lost.example", { method: "DELETE", headers: auth })).status).toBe(200);
  expect((await post(a, "lost.example", "3")).status).toBe(421);
  expect(await run("--dry-run")).toBe(0);
  expect(lines).toContain("resume lost.example: a -> b");
  expect(await run()).toBe(0);
  expect(await total(b, "lost.example")).toBe(2);
  expect(await run("--finish")).toBe(0);
  expect(existsSync(join(a.app.root, "lost.example"))).toBe(false);
});
