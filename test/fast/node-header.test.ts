import { afterAll, beforeAll, expect, test } from "bun:test";
import { hostname } from "node:os";
import { openApp, type TestApp } from "../helpers/app";

let app: TestApp;
let secured: TestApp;
beforeAll(async () => {
  app = await openApp(["--node-name", "node-7"]);
  secured = await openApp(["--node-name", "node-8", "--token", "secret"]);
});
afterAll(() => Promise.all([app.close(), secured.close()]));

test("every answer names the node that gave it: successes, errors, streamed lists, 404s and 405s", async () => {
  await app.request("/named.example", { body: { time: "2015-11-24T13:00:00Z", id: "one" } });
  const answers = [
    await app.fetch("/"),
    await app.fetch("/_health"),
    await app.fetch("/named.example"),
    await app.fetch("/named.example?format=csv"),
    await app.fetch("/named.example/count"),
    await app.fetch("/unknown.example/count"),
    await app.fetch("/named.example/browsers"),
    await app.fetch("/_nothing"),
    await app.fetch("/named.example/bulk", { method: "PUT" }),
    await app.fetch("/named.example", { method: "POST", body: "{not json" }),
    await app.fetch("/.hidden", { method: "POST", body: "{}" }),
  ];
  expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 404, 400, 404, 405, 400, 400]);
  expect(answers.map((r) => r.headers.get("x-node-name"))).toEqual(answers.map(() => "node-7"));
});

test("a 401 names the node too, so a router's answer says who refused", async () => {
  const refused = await secured.fetch("/named.example/count");
  expect(refused.status).toBe(401);
  expect(refused.headers.get("x-node-name")).toBe("node-8");
});

test("GET /:website/_node answers who holds the website, cheaply and whether it exists or not", async () => {
  expect(await app.request("/any.example/_node")).toMatchObject({ status: 200, body: { website: "any.example", node: "node-7" } });
  expect((await app.request("/.bad/_node")).status).toBe(400);
  const authorized = await secured.request("/any.example/_node", { headers: { authorization: "Bearer secret" } });
  expect(authorized.body).toEqual({ website: "any.example", node: "node-8" });
});

test("without --node-name the node is named after its host", async () => {
  const plain = await openApp();
  try {
    expect((await plain.fetch("/")).headers.get("x-node-name")).toBe(hostname());
  } finally {
    await plain.close();
  }
});
