/**
 * Readiness under systemd (Type=notify): the service sends READY=1 to
 * NOTIFY_SOCKET once it answers, and STOPPING=1 when SIGTERM starts its stop,
 * from its own process (systemd credits a message to its sender's pid). The
 * socket is a real unix datagram socket (test/helpers/notify.ts), which
 * reports each message with the sender's credentials.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { listenForNotifications } from "../helpers/notify";
import { request, startServer, tempDir } from "../helpers/server";
import { TEST_MS, waitFor } from "../helpers/wait";

setDefaultTimeout(TEST_MS);

/** Each test starts and stops a server; a failure should show its assertion, not the runner's timeout. */
const SLOW = 30_000;

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function readinessRoundTrip(socket: string) {
  const listener = await listenForNotifications(socket);
  cleanups.push(() => listener.close());
  const starting = startServer({ env: { NOTIFY_SOCKET: socket } });

  const ready = await listener.next("READY=1");
  // Readiness means it answers now: take the address from the STATUS line and ask at once.
  const url = /^STATUS=listening on (http:\/\/\S+?)\/?$/m.exec(ready.message)?.[1];
  expect(url).toBeDefined();
  const welcome = await request(`${url}/`);
  expect(welcome.status).toBe(200);
  expect(welcome.body.message).toBe("Welcome to micro-analytics!");

  const server = await starting;
  cleanups.push(() => server.stop());
  expect(ready.pid).toBe(server.pid);
  expect(listener.received.some((n) => n.message.split("\n").includes("STOPPING=1"))).toBe(false);

  server.proc.kill("SIGTERM");
  const stopping = await listener.next("STOPPING=1");
  expect(stopping.pid).toBe(server.pid);
  expect(await server.proc.exited).toBe(0);
  expect(listener.received.indexOf(ready)).toBeLessThan(listener.received.indexOf(stopping));
}

describe("sd_notify readiness", () => {
  test("READY=1 once it answers, STOPPING=1 on SIGTERM, to a socket file", async () => {
    const dir = tempDir("ma-notify-");
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    await readinessRoundTrip(join(dir, "notify"));
  }, SLOW);

  test("the same to an abstract socket (@name), as systemd usually passes", async () => {
    await readinessRoundTrip(`@ma-test-notify-${process.pid}-${Date.now()}`);
  }, SLOW);

  test("a NOTIFY_SOCKET nobody listens on is a warning, and the service runs", async () => {
    const dir = tempDir("ma-notify-");
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const server = await startServer({ env: { NOTIFY_SOCKET: join(dir, "nobody") } });
    cleanups.push(() => server.stop());
    expect((await request(`${server.url}/`)).status).toBe(200);
    await waitFor("the warning", () => /WARN cannot tell systemd READY=1 through NOTIFY_SOCKET \S+: sendto: ENOENT/.test(server.output()));
  }, SLOW);
});
