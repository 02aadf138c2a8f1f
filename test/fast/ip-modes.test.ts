import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config/config";
import { HASH_KEY_FILE } from "../../src/enrich/ip-keys";
import { hashAddress, HASHED } from "../../src/enrich/ip-mode";
import { openServices } from "../../src/services";
import { createLogger } from "../../src/observe/log";
import { openApp, type TestApp } from "../helpers/app";
import { inspect } from "../helpers/files";
import { tempDir } from "../helpers/server";

let apps: TestApp[] = [];
afterEach(() => {
  for (const app of apps) app.close();
  apps = [];
});
const open = async (args: string[]) => {
  const app = await openApp(args);
  apps.push(app);
  return app;
};

/** Two visitors in November, one of them back in December, with a third: exact answers are 3 over both months. */
const EVENTS = [
  { time: "2015-11-24T13:00:00Z", event: "pageview", ip: "8.8.8.8" },
  { time: "2015-11-24T14:00:00Z", event: "pageview", ip: "1.1.1.1:443" },
  { time: "2015-11-25T09:00:00Z", event: "download", ip: "8.8.8.8" },
  { time: "2015-12-02T10:00:00Z", event: "pageview", ip: "::ffff:8.8.8.8" },
  { time: "2015-12-02T11:00:00Z", event: "pageview", ip: "2001:4860:4860::8888" },
];

const storedIps = (root: string, month: string) =>
  inspect(join(root, "site", month, "analytics.db"), (db) => db.query<{ ip: string; countryCode: string }, []>("SELECT ip, countryCode FROM visits ORDER BY rowid").all());

describe("--ip-mode", () => {
  test("keep (the default) stores the address as sent", async () => {
    const app = await open([]);
    expect((await app.request("/site/bulk", { body: { list: EVENTS } })).body).toEqual({ inserted: 5 });
    expect(storedIps(app.root, "2015-11").map((row) => row.ip)).toEqual(["8.8.8.8", "1.1.1.1:443", "8.8.8.8"]);
    expect(readdirSync(app.root)).not.toContain(HASH_KEY_FILE);
  });

  test("hash stores a keyed hash, looks the country up first, and keeps unique counts exact across months", async () => {
    const app = await open(["--ip-mode", "hash"]);
    expect((await app.request("/site/bulk", { body: { list: EVENTS } })).body).toEqual({ inserted: 5 });
    const key = readFileSync(join(app.root, HASH_KEY_FILE));
    expect(key.length).toBe(32);
    expect(statSync(join(app.root, HASH_KEY_FILE)).mode & 0o777).toBe(0o600);

    const november = storedIps(app.root, "2015-11");
    const december = storedIps(app.root, "2015-12");
    for (const row of [...november, ...december]) expect(row.ip).toMatch(HASHED);
    expect(november.map((row) => row.countryCode)).toEqual(["us", "au", "us"]);
    expect(december.map((row) => row.countryCode)).toEqual(["us", "us"]);
    // One address however it was spelled: 8.8.8.8 in November is ::ffff:8.8.8.8 in December.
    expect(november[0]!.ip).toBe(hashAddress(key, "8.8.8.8"));
    expect(december[0]!.ip).toBe(november[0]!.ip);
    expect(november[1]!.ip).toBe(hashAddress(key, "1.1.1.1"));

    expect((await app.request("/site/count")).body).toEqual({ total: 5, unique: 3 });
    expect((await app.request("/site/count?end=2015-11-30T23:59:59Z")).body).toEqual({ total: 3, unique: 2 });
    expect((await app.request("/site/events?unique=true")).body.list).toEqual([
      { id: "pageview", label: "pageview", total: 4, unique: 3 },
      { id: "download", label: "download", total: 1, unique: 1 },
    ]);
    expect((await app.request("/site/time?interval=2592000&unique=true&start=2015-11-01T00:00:00Z")).body.list.map((b: { unique: number }) => b.unique)).toEqual([2, 2]);

    const raw = JSON.stringify((await app.request("/site")).body);
    for (const address of ["8.8.8.8", "1.1.1.1", "2001:4860"]) expect(raw).not.toContain(address);
  });

  test("hash with --ip-key-file uses that file's bytes, and refuses a missing or short one", async () => {
    const dir = tempDir("ma-key-file-");
    const keyFile = join(dir, "key");
    writeFileSync(keyFile, "k".repeat(40), { mode: 0o600 });
    const app = await open(["--ip-mode", "hash", "--ip-key-file", keyFile]);
    await app.request("/site", { body: EVENTS[0] });
    expect(storedIps(app.root, "2015-11")[0]!.ip).toBe(hashAddress(Buffer.from("k".repeat(40)), "8.8.8.8"));
    expect(readdirSync(app.root)).not.toContain(HASH_KEY_FILE);

    const log = createLogger("error", "text");
    const serve = (args: string[]) => {
      // A root of its own each time: a root stays locked by the process that opened it.
      const root = tempDir("ma-key-file-root-");
      const command = loadConfig(["--root", root, "--cache-directory", join(root, "cache"), ...args], {});
      if (command.name !== "serve") throw new Error("not serve");
      return openServices(command.config, log);
    };
    writeFileSync(join(dir, "short"), "0123456789");
    await expect(serve(["--ip-mode", "hash", "--ip-key-file", join(dir, "short")])).rejects.toThrow("holds 10 bytes; a key needs at least 32");
    await expect(serve(["--ip-mode", "hash", "--ip-key-file", join(dir, "missing")])).rejects.toThrow("--ip-key-file: cannot have the key for --ip-mode hash");
    expect(() => loadConfig(["--ip-mode", "daily", "--ip-key-file", keyFile], {})).toThrow("--ip-key-file is the hash mode's key");
  });

  test("none stores no address, still finds the country, and answers 0 unique visitors everywhere", async () => {
    const app = await open(["--ip-mode", "none"]);
    expect((await app.request("/site/bulk", { body: { list: EVENTS } })).body).toEqual({ inserted: 5 });
    const rows = [...storedIps(app.root, "2015-11"), ...storedIps(app.root, "2015-12")];
    expect(rows.map((row) => row.ip)).toEqual(["", "", "", "", ""]);
    expect(rows.map((row) => row.countryCode)).toEqual(["us", "au", "us", "us", "us"]);
    expect((await app.request("/site/count")).body).toEqual({ total: 5, unique: 0 });
    expect((await app.request("/site/countries?unique=true")).body.list).toEqual([
      { id: "us", label: "United States of America", total: 4, unique: 0 },
      { id: "au", label: "Australia", total: 1, unique: 0 },
    ]);
    expect((await app.request("/site/time?interval=86400&unique=true")).body.list.every((b: { unique: number }) => b.unique === 0)).toBe(true);
    expect(readdirSync(app.root).filter((name) => name.startsWith(".ip-"))).toEqual([]);
  });

  test("/_metrics counts the anonymized events", async () => {
    const app = await open(["--ip-mode", "hash"]);
    await app.request("/site/bulk", { body: { list: [...EVENTS, { event: "no address" }] } });
    const metrics = await (await app.fetch("/_metrics")).text();
    expect(metrics).toContain("micro_analytics_events_anonymized_total 5\n");
  });
});
