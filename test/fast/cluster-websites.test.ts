import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openApp } from "../helpers/app";
import { freePort } from "../helpers/router";
import { serveApp, type ServedApp } from "../helpers/loopback";

/** A node's own GET /_websites comes from the query module; without it there is nothing to merge. */
const probe = await openApp();
const ownList = (await probe.request("/_websites")).status === 200;
probe.close();
if (!ownList) console.warn("cluster-wide GET /_websites tests skipped: this build has no GET /_websites of its own yet (the query module's)");

/**
 * `GET /_websites` on nodes started with --nodes: any node answers for the
 * whole cluster, from every node's own list. Ports are chosen first, as each
 * node is told every node's URL when it starts.
 */
describe.skipIf(!ownList)("GET /_websites with --nodes", () => {
  const TOKEN = "cluster-secret";
  const auth = { authorization: `Bearer ${TOKEN}` };
  let a: ServedApp;
  let b: ServedApp;
  let ports: number[];
  beforeAll(async () => {
    ports = [freePort(), freePort()];
    const nodes = ["--nodes", ports.map((port) => `http://127.0.0.1:${port}`).join(",")];
    [a, b] = await Promise.all([
      serveApp(["--node-name", "a", "--token", TOKEN, ...nodes], ports[0]),
      serveApp(["--node-name", "b", "--token", TOKEN, ...nodes], ports[1]),
    ]);
  });
  afterAll(() => Promise.all([a.close(), b.close()]));

  const post = (node: ServedApp, website: string, time: string) => node.app.request(`/${website}`, { body: { time }, headers: auth });
  const list = async (node: ServedApp) => (await node.app.request("/_websites", { headers: auth })).body.list;

  test("any node lists the websites of every node, by name", async () => {
    await post(a, "alpha.example", "2015-11-24T13:00:00Z");
    await post(b, "beta.example", "2015-12-01T00:00:00Z");
    await post(b, "beta.example", "2016-01-01T00:00:00Z");
    const expected = [
      { website: "alpha.example", firstTime: "2015-11-24T13:00:00Z", lastTime: "2015-11-24T13:00:00Z", events: 1, bytes: expect.any(Number) },
      { website: "beta.example", firstTime: "2015-12-01T00:00:00Z", lastTime: "2016-01-01T00:00:00Z", events: 2, bytes: expect.any(Number) },
    ];
    expect(await list(a)).toEqual(expected);
    expect(await list(b)).toEqual(expected);
    // A node's own list, as the others ask it.
    const own = await a.app.request("/_websites", { headers: { ...auth, "x-websites-scope": "node" } });
    expect(own.body.list.map((w: { website: string }) => w.website)).toEqual(["alpha.example"]);
  });

  test("a website being moved is listed once: the old owner's copy is left out", async () => {
    await post(a, "moving.example", "2015-11-24T13:00:00Z");
    const moved = await a.app.request("/_cluster/move/moving.example", { body: { to: b.url, self: a.url }, headers: auth });
    expect(moved.status).toBe(200);
    const entries = (await list(a)).filter((w: { website: string }) => w.website === "moving.example");
    expect(entries).toEqual([{ website: "moving.example", firstTime: "2015-11-24T13:00:00Z", lastTime: "2015-11-24T13:00:00Z", events: 1, bytes: expect.any(Number) }]);
  });

  test("a website on two nodes (written behind a misconfigured router) is listed once, with what both hold", async () => {
    await post(a, "split.example", "2015-10-01T00:00:00Z");
    await post(b, "split.example", "2016-02-01T00:00:00Z");
    const entry = (await list(b)).find((w: { website: string }) => w.website === "split.example");
    expect(entry).toMatchObject({ firstTime: "2015-10-01T00:00:00Z", lastTime: "2016-02-01T00:00:00Z", events: 2 });
  });

  test("with a node down, answers 502 naming it rather than a list that looks whole", async () => {
    await b.close();
    const answer = await a.app.request("/_websites", { headers: auth });
    expect(answer.status).toBe(502);
    expect(answer.body.code).toBe("NodeUnavailable");
    expect(answer.body.message).toContain(`127.0.0.1:${ports[1]}`);
    b = await serveApp(["--node-name", "b", "--token", TOKEN], ports[1]);
  });
});
