import { Database } from "bun:sqlite";
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { request, runCli, startServer, tempDir } from "../helpers/server";
import { TEST_MS } from "../helpers/wait";

setDefaultTimeout(TEST_MS);

/**
 * A month summary answers only for the rows of its shard. When the shard
 * changes behind the service's back while it is stopped (a backup copied
 * over it in place, rows deleted by hand), the summary beside it, and every
 * answer cached from it, must be dropped rather than trusted.
 */
const dir = tempDir("ma-trust-");
const root = join(dir, "dbs");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MONTH = "2016-03";
const base = Date.UTC(2016, 2, 1) / 1000;

/** `count` events of `visitors` visitors (numbered from `first`), one a minute from `offset` minutes into the month. */
function events(count: number, visitors: number, first: number, offset: number) {
  return Array.from({ length: count }, (_, i) => ({
    time: base + (offset + i) * 60,
    event: i % 2 ? "view" : "click",
    ip: `10.1.${Math.floor((first + (i % visitors)) / 256)}.${(first + (i % visitors)) % 256}`,
    countryCode: i % 3 ? "fr" : "de",
  }));
}

async function withServer<T>(use: (url: string) => Promise<T>): Promise<T> {
  const server = await startServer({ root, args: ["--cache-directory", join(dir, "cache")] });
  try {
    return await use(server.url);
  } finally {
    await server.stop();
  }
}

async function post(url: string, site: string, list: object[]) {
  expect((await request(`${url}/${site}/bulk`, { body: { list } })).status).toBe(200);
}

const get = async (url: string, path: string) => {
  const answer = await request(`${url}${path}`);
  expect(answer.status, path).toBe(200);
  return answer.body;
};

test("a backup copied over a shard in place (same file, older rows) is not answered for by the newer summary", async () => {
  const site = "restored.example";
  await withServer((url) => post(url, site, events(1000, 50, 0, 0)));
  const backup = join(dir, "backup");
  const made = await runCli(["backup", backup, "--root", root]);
  expect(made.exitCode, made.stderr).toBe(0);

  await withServer(async (url) => {
    await post(url, site, events(500, 50, 50, 1000));
    expect(await get(url, `/${site}/count`)).toEqual({ total: 1500, unique: 100 });
  });
  const shard = join(root, site, MONTH, "analytics.db");
  const inode = statSync(shard).ino;

  // The restore an operator would do: the backup's tree over the root, files overwritten in place.
  const copied = Bun.spawnSync(["cp", "-a", `${backup}/.`, `${root}/`]);
  expect(copied.exitCode, copied.stderr.toString()).toBe(0);
  expect(statSync(shard).ino).toBe(inode);
  expect(existsSync(join(root, site, MONTH, "summary.db"))).toBe(true);

  await withServer(async (url) => {
    expect(await get(url, `/${site}/count`)).toEqual({ total: 1000, unique: 50 });
    expect(await get(url, `/${site}/countries?unique=true`)).toEqual({
      list: [
        { id: "fr", label: "France", total: 666, unique: 50 },
        { id: "de", label: "Germany", total: 334, unique: 50 },
      ],
    });
    // And it stays right as new events come.
    await post(url, site, events(10, 10, 200, 5000));
    expect(await get(url, `/${site}/count`)).toEqual({ total: 1010, unique: 60 });
  });
});

test("rows deleted by hand while the service was stopped are no longer counted, and their addresses leave the summary", async () => {
  const site = "erased.example";
  const erased = "10.1.0.7";
  const before = await withServer(async (url) => {
    await post(url, site, events(1000, 50, 0, 0));
    return { count: await get(url, `/${site}/count`), events: await get(url, `/${site}/events?unique=true`) };
  });
  expect(before.count).toEqual({ total: 1000, unique: 50 });
  const summary = join(root, site, MONTH, "summary.db");
  expect(readFileSync(summary).includes(erased)).toBe(true);

  // An erasure request carried out with sqlite3: the highest rowid stays where it was.
  const db = new Database(join(root, site, MONTH, "analytics.db"));
  const removed = db.query("DELETE FROM visits WHERE ip = ?1").run(erased).changes;
  expect(db.query("SELECT max(rowid) AS top FROM visits").get()).toEqual({ top: 1000 });
  db.close();
  expect(removed).toBe(20);

  await withServer(async (url) => {
    // Asked exactly as before: an answer cached then must not come back.
    expect(await get(url, `/${site}/count`)).toEqual({ total: 980, unique: 49 });
    expect(await get(url, `/${site}/events?unique=true`)).toEqual({
      list: [
        { id: "click", label: "click", total: 500, unique: 25 },
        { id: "view", label: "view", total: 480, unique: 24 },
      ],
    });
  });
  const files = readdirSync(join(root, site, MONTH)).filter((name) => name.startsWith("summary.db"));
  for (const name of files) expect(readFileSync(join(root, site, MONTH, name)).includes(erased), name).toBe(false);
});
