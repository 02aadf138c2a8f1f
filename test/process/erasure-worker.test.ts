import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { cleanup } from "../helpers/cleanup";
import { request, startServer } from "../helpers/server";
import { TEST_MS } from "../helpers/wait";

setDefaultTimeout(TEST_MS);
afterAll(cleanup);

test("the shipped service erases a visitor through its erasure worker, and goes on writing to the month after", async () => {
  const server = await startServer({ args: ["--ip-mode", "hash"] });
  const list = [
    { time: "2015-11-24T13:00:00Z", ip: "8.8.8.8" },
    { time: "2015-11-24T14:00:00Z", ip: "1.1.1.1" },
    { time: "2015-12-02T10:00:00Z", ip: "8.8.8.8:443" },
  ];
  expect((await request(`${server.url}/site/bulk`, { body: { list } })).body).toEqual({ inserted: 3 });
  expect((await request(`${server.url}/site/visitors/8.8.8.8`, { method: "DELETE" })).body).toEqual({ removed: 2 });
  expect((await request(`${server.url}/site`, { body: { time: "2015-11-25T10:00:00Z", ip: "9.9.9.9" } })).body).toEqual({ inserted: 1 });
  expect((await request(`${server.url}/site/count`)).body).toEqual({ total: 2, unique: 2 });
  await server.stop();
  expect(server.output()).not.toContain("ERROR");
});
