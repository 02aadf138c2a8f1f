/**
 * Readiness under systemd (Type=notify): the service sends READY=1 to
 * NOTIFY_SOCKET once it answers, and STOPPING=1 when SIGTERM starts its stop,
 * from its own process (systemd credits a message to its sender's pid). The
 * socket here is a real unix datagram socket bound by a small Python listener,
 * which reports each message with the sender's credentials (SO_PASSCRED).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { request, startServer, tempDir } from "../helpers/server";
import { waitFor } from "../helpers/wait";

const LISTENER = `
import json, socket, struct, sys
name = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind("\\0" + name[1:] if name.startswith("@") else name)
print(json.dumps({"bound": name}), flush=True)
while True:
    data, ancillary, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = None
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("3i", payload[:12])[0]
    print(json.dumps({"pid": pid, "message": data.decode()}), flush=True)
`;

interface Notification {
  pid: number | null;
  message: string;
}

/** Each test starts and stops a server; a failure should show its assertion, not the runner's timeout. */
const SLOW = 30_000;

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Binds a unix datagram socket (a path, or an abstract `@name`) and collects what arrives on it. */
async function listen(socket: string): Promise<{ received: Notification[]; proc: Subprocess }> {
  const proc = Bun.spawn(["python3", "-c", LISTENER, socket], { stdout: "pipe", stderr: "inherit" });
  cleanups.push(() => proc.kill("SIGKILL"));
  const received: Notification[] = [];
  let bound = false;
  void (async () => {
    let pending = "";
    for await (const chunk of proc.stdout) {
      pending += new TextDecoder().decode(chunk);
      let end;
      while ((end = pending.indexOf("\n")) >= 0) {
        const line = JSON.parse(pending.slice(0, end));
        pending = pending.slice(end + 1);
        if ("bound" in line) bound = true;
        else received.push(line);
      }
    }
  })();
  await waitFor(`the listener to bind ${socket}`, () => bound || proc.exitCode !== null);
  expect(proc.exitCode).toBeNull();
  return { received, proc };
}

function lines(message: string): string[] {
  return message.split("\n");
}

async function readinessRoundTrip(socket: string) {
  const { received } = await listen(socket);
  const starting = startServer({ env: { NOTIFY_SOCKET: socket } });

  const ready = await waitFor("READY=1", () => received.find((n) => lines(n.message).includes("READY=1")));
  // Readiness means it answers now: take the address from the STATUS line and ask at once.
  const url = /^STATUS=listening on (http:\/\/\S+?)\/?$/m.exec(ready.message)?.[1];
  expect(url).toBeDefined();
  const welcome = await request(`${url}/`);
  expect(welcome.status).toBe(200);
  expect(welcome.body.message).toBe("Welcome to micro-analytics!");

  const server = await starting;
  cleanups.push(() => server.stop());
  expect(ready.pid).toBe(server.pid);
  expect(received.some((n) => lines(n.message).includes("STOPPING=1"))).toBe(false);

  server.proc.kill("SIGTERM");
  const stopping = await waitFor("STOPPING=1", () => received.find((n) => lines(n.message).includes("STOPPING=1")));
  expect(stopping.pid).toBe(server.pid);
  expect(await server.proc.exited).toBe(0);
  expect(received.indexOf(ready)).toBeLessThan(received.indexOf(stopping));
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
