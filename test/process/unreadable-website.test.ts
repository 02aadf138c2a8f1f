import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeOriginalShard, type VisitRow } from "../helpers/files";
import { request, startServer, tempDir, type TestServer } from "../helpers/server";
import { TEST_MS, waitFor } from "../helpers/wait";

setDefaultTimeout(TEST_MS);

/**
 * A website directory the service may not read (another user's, mode 0700,
 * as `cp -a` run as root leaves it) fails that website's queries, and only
 * theirs: the query worker's listing of every shard at start must not die
 * on it. Root reads any directory, so as root the service runs without the
 * two capabilities that let it (setpriv drops them from its bounding set);
 * as any other user the directory is made unreadable to its owner.
 */
const IS_ROOT = process.getuid?.() === 0;
const SETPRIV = Bun.which("setpriv");
const CAN_RUN = !IS_ROOT || SETPRIV !== null;

const row = (ip: string, hour: number): VisitRow => ({
  time: Date.UTC(2016, 0, 10, hour) / 1000,
  event: "view",
  path: "/",
  ip,
  platform: "Linux",
  refererDomain: "",
  countryCode: "fr",
});

let dir: string;
let server: TestServer;
beforeAll(async () => {
  if (!CAN_RUN) return;
  dir = tempDir("ma-unreadable-");
  const root = join(dir, "dbs");
  mkdirSync(root);
  writeOriginalShard(root, "open.example", "2016-01", [row("10.0.0.1", 1), row("10.0.0.2", 2)]);
  writeOriginalShard(root, "locked.example", "2016-01", [row("10.0.0.3", 3)]);
  const locked = join(root, "locked.example");
  if (IS_ROOT) {
    chownSync(locked, 12_345, 12_345);
    chmodSync(locked, 0o700);
  } else {
    chmodSync(locked, 0o000);
  }
  server = await startServer({
    root,
    prefix: IS_ROOT ? [SETPRIV!, "--bounding-set", "-dac_override,-dac_read_search", "--"] : [],
  });
}, 20_000);
afterAll(async () => {
  if (!CAN_RUN) return;
  await server?.stop();
  chmodSync(join(dir, "dbs", "locked.example"), 0o700);
  rmSync(dir, { recursive: true, force: true });
});

test.skipIf(!CAN_RUN)("one unreadable website directory fails its own queries only", async () => {
  // The worker visited every shard it could read after start, and is still the first one.
  await waitFor("the summaries line", () => server.output().includes("summaries up to date"));
  expect(server.output()).not.toContain("query worker failed");

  expect(await request(`${server.url}/open.example/count`)).toMatchObject({ status: 200, body: { total: 2, unique: 2 } });
  expect((await request(`${server.url}/open.example/countries?unique=true`)).body).toEqual({
    list: [{ id: "fr", label: "France", total: 2, unique: 2 }],
  });
  expect((await request(`${server.url}/open.example/time?interval=3600`)).body.list).toHaveLength(2);

  for (const route of ["/count", "/countries", "/time", ""]) {
    const locked = await request(`${server.url}/locked.example${route}`);
    expect({ route, status: locked.status, code: locked.body.code }).toEqual({ route, status: 500, code: "InternalError" });
  }
  // The log says which directory, and why.
  expect(server.output()).toMatch(/locked\.example.*(EACCES|permission denied)/i);

  // The other website is still written to and read.
  expect((await request(`${server.url}/open.example`, { body: { time: "2016-01-11T00:00:00Z", ip: "10.0.0.4" } })).status).toBe(200);
  expect((await request(`${server.url}/open.example/count`)).body).toEqual({ total: 3, unique: 3 });
  expect((await request(`${server.url}/_metrics`)).status).toBe(200);
  // The list of websites leaves it out, and the log says why.
  const listed = await request(`${server.url}/_websites`);
  expect(listed.status).toBe(200);
  expect(listed.body.list.map(({ website }: { website: string }) => website)).toEqual(["open.example"]);
  await waitFor("the listing's warning", () => /listing websites: cannot read.*locked\.example/.test(server.output()));
  expect(server.output()).not.toContain("query worker failed");
});
