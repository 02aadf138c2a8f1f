import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { openApp } from "../helpers/app";
import { cleanup } from "../helpers/cleanup";
import { TEST_MS } from "../helpers/wait";

setDefaultTimeout(TEST_MS);
afterAll(cleanup);

const EVENTS = [
  { id: "ev-1", time: "2015-11-24T13:00:00Z", event: "pageview", ip: "8.8.8.8" },
  { id: "ev-2", time: "2015-11-24T14:00:00Z", event: "pageview", ip: "1.1.1.1" },
  { id: "ev-3", time: "2015-12-02T10:00:00Z", event: "pageview", ip: "8.8.8.8:443" },
];

test("an erased event sent again with its id is not stored again; the visitor's new events are", async () => {
  const app = await openApp(["--ip-mode", "hash"]);
  expect((await app.request("/site/bulk", { body: { list: EVENTS } })).body).toEqual({ inserted: 3, duplicates: 0 });
  expect((await app.request("/site/visitors/8.8.8.8", { method: "DELETE" })).body).toEqual({ removed: 2 });

  // A client that never got the first answer sends the request again: the erasure stays whole.
  expect((await app.request("/site/bulk", { body: { list: EVENTS } })).body).toEqual({ inserted: 0, duplicates: 3 });
  expect((await app.request("/site/count")).body).toEqual({ total: 1, unique: 1 });

  // Erasure is of what was stored, not a ban: a later visit, with an id of its own, is counted.
  expect((await app.request("/site", { body: { id: "ev-4", time: "2015-12-03T10:00:00Z", ip: "8.8.8.8" } })).body).toEqual({ inserted: 1, duplicates: 0 });
  expect((await app.request("/site/count")).body).toEqual({ total: 2, unique: 2 });
});
