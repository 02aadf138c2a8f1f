import { expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { DAILY_KEY_FILE } from "../../src/enrich/ip-keys";
import { HASHED } from "../../src/enrich/ip-mode";
import { inspect } from "../helpers/files";
import { countInMemory } from "../helpers/memory";
import { cleanEnv, request, startServer, tempDir } from "../helpers/server";
import { TEST_MS } from "../helpers/wait";

setDefaultTimeout(TEST_MS);

/** Every file under `dir`, read whole. */
const filesUnder = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => readFileSync(join(entry.parentPath, entry.name)));

test.skipIf(process.platform !== "linux")("daily: at midnight UTC the day's key is replaced, and the old one is gone from memory and disk", async () => {
  const root = tempDir("ma-daily-");
  // The mode in a process of its own, its clock 1.5 s before midnight (see the fixture).
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "fixtures/daily-key.ts"), root, "1500", "203.0.113.7"], { env: cleanEnv(), stdout: "pipe", stderr: "inherit" });
  const lines = (async function* () {
    let text = "";
    for await (const chunk of proc.stdout) {
      text += new TextDecoder().decode(chunk);
      for (let end = text.indexOf("\n"); end >= 0; end = text.indexOf("\n")) {
        yield JSON.parse(text.slice(0, end)) as { day: string; hash: string; again?: string };
        text = text.slice(end + 1);
      }
    }
  })();
  try {
    const before = (await lines.next()).value!;
    expect(before.hash).toMatch(HASHED);
    expect(before.again).toBe(before.hash);
    const path = join(root, DAILY_KEY_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const file = readFileSync(path);
    expect(file.toString("latin1", 0, 10)).toBe(before.day);
    const oldKey = Buffer.from(file.subarray(10));
    expect(oldKey.length).toBe(32);
    // The reading finds a key that is there: the process holds the day's key now.
    expect(countInMemory(proc.pid, oldKey)).toBeGreaterThan(0);

    // The mode's own timer changes the key, with no event coming in.
    const after = (await lines.next()).value!;
    expect(after.day > before.day).toBe(true);
    expect(after.hash).toMatch(HASHED);
    expect(after.hash).not.toBe(before.hash);
    const newFile = readFileSync(path);
    expect(newFile.toString("latin1", 0, 10)).toBe(after.day);
    const newKey = Buffer.from(newFile.subarray(10));
    expect(newKey.equals(oldKey)).toBe(false);

    for (const bytes of filesUnder(root)) expect(bytes.includes(oldKey)).toBe(false);
    expect(countInMemory(proc.pid, oldKey)).toBe(0);
    expect(countInMemory(proc.pid, newKey)).toBeGreaterThan(0);
  } finally {
    proc.kill();
    await proc.exited;
  }
});

test("daily: within a day a visitor is one, across a restart too; the key file is the service's alone", async () => {
  const dir = tempDir("ma-daily-serve-");
  const root = join(dir, "dbs");
  const event = { event: "pageview", ip: "8.8.8.8" };
  let server = await startServer({ root, args: ["--ip-mode", "daily"] });
  try {
    await request(`${server.url}/site`, { body: event });
    await server.stop();
    server = await startServer({ root, args: ["--ip-mode", "daily"] });
    await request(`${server.url}/site`, { body: { ...event, ip: "8.8.8.8:4000" } });
    // Both of today, unless midnight passed between them (then each day counts it once).
    const { body } = await request(`${server.url}/site/count`);
    const days = new Set((await request(`${server.url}/site`)).body.list.map((row: { time: string }) => row.time.slice(0, 10)));
    expect(body).toEqual({ total: 2, unique: days.size });
    expect(statSync(join(root, DAILY_KEY_FILE)).mode & 0o777).toBe(0o600);
    const month = readdirSync(join(root, "site"))[0]!;
    const ips = inspect(join(root, "site", month, "analytics.db"), (db) => db.query<{ ip: string }, []>("SELECT ip FROM visits").all().map((row) => row.ip));
    for (const ip of ips) expect(ip).toMatch(HASHED);
  } finally {
    await server.stop();
  }
});

test("hash: the key is made at first start, readable by the service alone, and a restart keeps it", async () => {
  const dir = tempDir("ma-hash-serve-");
  const root = join(dir, "dbs");
  let server = await startServer({ root, args: ["--ip-mode", "hash"] });
  try {
    expect(server.output()).toContain("--ip-mode hash: made the key");
    await request(`${server.url}/site`, { body: { event: "pageview", ip: "8.8.8.8", time: "2015-11-24T13:00:00Z" } });
    const keyPath = join(root, ".ip-hash-key");
    const key = readFileSync(keyPath);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    await server.stop();

    server = await startServer({ root, args: ["--ip-mode", "hash"] });
    expect(server.output()).not.toContain("made the key");
    await request(`${server.url}/site`, { body: { event: "pageview", ip: "8.8.8.8", time: "2015-12-24T13:00:00Z" } });
    expect(readFileSync(keyPath).equals(key)).toBe(true);
    expect((await request(`${server.url}/site/count`)).body).toEqual({ total: 2, unique: 1 });
    // The request log keeps no visitor's address either.
    expect(server.output()).toContain("POST /site 200");
    expect(server.output()).not.toContain("client=");
  } finally {
    await server.stop();
  }
});
