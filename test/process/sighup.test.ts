/**
 * SIGHUP reloads what can change without a restart, the --geoip file, and
 * never stops the service: without a handler it died at once (exit 129) and
 * without a word, which systemd counts as a clean stop.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { copyFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { request, startServer, tempDir, type TestServer } from "../helpers/server";
import { TEST_MS, waitFor } from "../helpers/wait";

setDefaultTimeout(TEST_MS);

const DATABASES = resolve(import.meta.dir, "../../node_modules/@ip-location-db/geo-whois-asn-country-mmdb");
/** Knows IPv6 networks only: 8.8.8.8 has no country in it. */
const IPV6_ONLY = join(DATABASES, "geo-whois-asn-country-ipv6.mmdb");
/** Knows both: 8.8.8.8 is in the United States. */
const COMBINED = join(DATABASES, "geo-whois-asn-country.mmdb");

const servers: TestServer[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

let posted = 0;
/** Posts an event from 8.8.8.8 and answers the country it was stored with. */
async function countryOf8888(server: TestServer): Promise<string> {
  const site = `geo${posted++}.example`;
  expect((await request(`${server.url}/${site}`, { body: { time: "2015-11-24T13:00:00Z", event: "view", ip: "8.8.8.8" } })).status).toBe(200);
  const { body } = await request(`${server.url}/${site}`);
  return body.list[0].countryCode;
}

function linesSince(server: TestServer, start: number): string[] {
  return server.output().slice(start).split("\n");
}

describe("SIGHUP", () => {
  test("with the embedded database: the service keeps running and says there is nothing to reload", async () => {
    const server = await startServer();
    servers.push(server);
    const start = server.output().length;
    process.kill(server.pid, "SIGHUP");
    const line = await waitFor("the SIGHUP line", () => linesSince(server, start).find((l) => l.includes("SIGHUP")));
    expect(line).toMatch(/ NOTICE SIGHUP: nothing to reload/);
    expect(server.proc.exitCode).toBeNull();
    expect((await request(`${server.url}/`)).status).toBe(200);
    expect(await countryOf8888(server)).toBe("us");
  });

  test("re-reads the --geoip file; an unreadable one is reported and the one read before kept", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const mmdb = join(dir, "country.mmdb");
    copyFileSync(IPV6_ONLY, mmdb);
    const server = await startServer({ args: ["--geoip", mmdb] });
    servers.push(server);
    expect(await countryOf8888(server)).toBe("");

    // Replaced, as a database updater does, then reloaded.
    copyFileSync(COMBINED, mmdb);
    let start = server.output().length;
    process.kill(server.pid, "SIGHUP");
    const reloaded = await waitFor("the reload line", () => linesSince(server, start).find((l) => l.includes("SIGHUP")));
    expect(reloaded).toMatch(/ NOTICE SIGHUP: reloaded the GeoIP database /);
    expect(reloaded).toContain(mmdb);
    expect(await countryOf8888(server)).toBe("us");

    // A broken file: an error line, and lookups go on with the database loaded before.
    writeFileSync(mmdb, "");
    start = server.output().length;
    process.kill(server.pid, "SIGHUP");
    const refused = await waitFor("the refusal line", () => linesSince(server, start).find((l) => l.includes("SIGHUP")));
    expect(refused).toMatch(/ ERROR SIGHUP: cannot read /);
    expect(refused).toContain("still using the one read before");
    expect(server.proc.exitCode).toBeNull();
    expect(await countryOf8888(server)).toBe("us");
  });

  test("SIGTERM after a SIGHUP still stops the service cleanly", async () => {
    const server = await startServer();
    const start = server.output().length;
    process.kill(server.pid, "SIGHUP");
    await waitFor("the SIGHUP line", () => linesSince(server, start).some((l) => l.includes("SIGHUP")));
    await server.stop();
    expect(server.proc.exitCode).toBe(0);
    expect(server.output()).toContain("stopped in");
  });
});
