/**
 * The systemd unit's sandbox, tried on the service without systemd (this
 * kind of machine has no systemd as PID 1): deploy/micro-analytics.service is
 * read, and the service runs under what it asks for, then does a day's work
 * (ingest, every query, export, DELETE, readiness, SIGTERM):
 * - SystemCallFilter=, SystemCallArchitectures=, RestrictAddressFamilies= and
 *   MemoryDenyWriteExecute=, as a seccomp filter built from the unit's own
 *   lines (groups expanded by `systemd-analyze syscall-filter`). A call
 *   outside it kills the process, where the unit answers EPERM: stricter, so
 *   that no call outside goes unseen;
 * - PrivateUsers=: a user namespace in which only root and the service's user exist;
 * - ProtectProc= and ProcSubset=: /proc mounted with hidepid= and subset=;
 * - DynamicUser=, CapabilityBoundingSet= and NoNewPrivileges=: an unprivileged
 *   user with no capability left and no_new_privs.
 * It needs root (for the namespaces), util-linux, systemd-analyze and Debian's
 * python3-seccomp (which .ci/run installs); where one is missing it is skipped,
 * saying why.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, chownSync, copyFileSync, existsSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_DIR } from "../../src/bundle";
import { listenForNotifications } from "../helpers/notify";
import { request, serverCommand, tempDir } from "../helpers/server";
import { TEST_MS, waitFor } from "../helpers/wait";

const UNIT = join(PROJECT_DIR, "deploy", "micro-analytics.service");
/** The uid and gid the service runs as, standing in for the one DynamicUser= would pick. */
const SERVICE_ID = 61_234;
const PYTHON = "/usr/bin/python3";
const SLOW = 60_000;

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function run(argv: string[]): { ok: boolean; text: string } {
  const result = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return { ok: result.exitCode === 0, text: `${result.stdout}${result.stderr}`.trim() };
}

/** The [Service] section's settings: every value of each key, in order. */
function serviceSettings(path: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = "";
  for (const raw of readFileSync(path, "utf8").split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) section = header[1]!;
    else if (section === "Service") {
      const at = line.indexOf("=");
      const key = line.slice(0, at);
      settings.set(key, [...(settings.get(key) ?? []), line.slice(at + 1)]);
    }
  }
  return settings;
}

/** Every system call a SystemCallFilter= allows: its allow lines' groups expanded, less its `~` lines. */
function allowedSyscalls(lines: string[]): string[] {
  const groups = new Map<string, string[]>();
  let group: string | undefined;
  for (const raw of run(["systemd-analyze", "syscall-filter"]).text.split("\n")) {
    const line = raw.trim();
    if (raw.startsWith("@")) groups.set((group = line), []);
    else if (group && line !== "" && !line.startsWith("#")) groups.get(group)!.push(line);
  }
  const expand = (name: string): string[] => (name.startsWith("@") ? (groups.get(name) ?? []).flatMap(expand) : [name]);
  if (lines[0]?.startsWith("~")) throw new Error("the unit's first SystemCallFilter= line is a deny list; this test expects an allow list");
  const allow = new Set(lines.filter((l) => !l.startsWith("~")).flatMap((l) => l.split(/\s+/)).flatMap(expand));
  for (const name of lines.filter((l) => l.startsWith("~")).flatMap((l) => l.slice(1).split(/\s+/)).flatMap(expand)) allow.delete(name);
  return [...allow].sort();
}

/** Loads a seccomp filter (python3-seccomp) from a JSON policy, then runs the command in its place. */
const SECCOMP_LOADER = `
import json, os, sys, seccomp
policy = json.load(open(sys.argv[1]))
f = seccomp.SyscallFilter(defaction=seccomp.KILL_PROCESS)
special = {"socket", "socketpair"} | ({"mmap", "mprotect", "pkey_mprotect"} if policy["mdwe"] else set())
for name in policy["allow"]:
    if name not in special:
        try: f.add_rule(seccomp.ALLOW, name)
        except Exception: pass  # not a system call of this architecture
for name in ("socket", "socketpair"):
    if name in policy["allow"]:
        for family in policy["families"]: f.add_rule(seccomp.ALLOW, name, seccomp.Arg(0, seccomp.EQ, family))
if policy["mdwe"]:
    WX, X = 2 | 4, 4
    for bits in (0, 2, 4): f.add_rule(seccomp.ALLOW, "mmap", seccomp.Arg(2, seccomp.MASKED_EQ, WX, bits))
    f.add_rule(seccomp.ERRNO(1), "mmap", seccomp.Arg(2, seccomp.MASKED_EQ, WX, WX))
    for name in ("mprotect", "pkey_mprotect"):
        f.add_rule(seccomp.ALLOW, name, seccomp.Arg(2, seccomp.MASKED_EQ, X, 0))
        f.add_rule(seccomp.ERRNO(1), name, seccomp.Arg(2, seccomp.MASKED_EQ, X, X))
f.load()
os.execv(sys.argv[2], sys.argv[2:])
`;

setDefaultTimeout(TEST_MS);

function readableByService(path: string): boolean {
  return run(["setpriv", "--reuid", String(SERVICE_ID), "--regid", String(SERVICE_ID), "--clear-groups", "test", "-r", path]).ok;
}

const FAMILIES: Record<string, number> = { AF_UNIX: 1, AF_INET: 2, AF_INET6: 10 };

/** Why the sandbox cannot be built here, or undefined when it can. */
const cannotSandbox: string | undefined = (() => {
  if (process.platform !== "linux") return "it needs Linux namespaces and seccomp";
  if (process.getuid?.() !== 0) return "the tests do not run as root, so they cannot make the namespaces";
  for (const tool of ["unshare", "setpriv", "systemd-analyze"]) if (!Bun.which(tool)) return `${tool} is not installed`;
  if (!run([PYTHON, "-c", "import seccomp"]).ok) return `${PYTHON} has no seccomp module (apt-get install python3-seccomp)`;
  const probe = run(["unshare", "--user", "--mount", "--pid", "--fork", "true"]);
  if (!probe.ok) return `unshare cannot make a user, mount and pid namespace here: ${probe.text}`;
  // The binary is copied where the service's user can read it; the sources are run where they are.
  if (!process.env.MA_TEST_SERVER) {
    const unreadable = [process.execPath, join(PROJECT_DIR, "src", "main.ts"), join(PROJECT_DIR, "node_modules", "elysia", "package.json")].find((path) => !readableByService(path));
    if (unreadable) return `the service's user (uid ${SERVICE_ID}) cannot read ${unreadable} where it is; the compiled binary's run (MA_TEST_SERVER) copies it and runs the test`;
  }
  return undefined;
})();
if (cannotSandbox) console.log(`systemd-sandbox: skipping the unit's sandbox test: ${cannotSandbox}`);

interface Sandboxed {
  url: string;
  /** The service's pid as this process sees it. */
  pid: number;
  output(): string;
  exited: Promise<number>;
}

/** Starts the service (sources or MA_TEST_SERVER) under the unit's sandbox, on a root its user owns. */
async function startSandboxed(root: string, env: Record<string, string>): Promise<Sandboxed> {
  const unit = serviceSettings(UNIT);
  const one = (key: string) => unit.get(key)?.at(-1);
  const dir = tempDir("ma-sandbox-");
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  const policy = join(dir, "policy.json");
  writeFileSync(
    policy,
    JSON.stringify({
      allow: allowedSyscalls(unit.get("SystemCallFilter") ?? []),
      families: (one("RestrictAddressFamilies") ?? "").split(/\s+/).map((name) => FAMILIES[name]!),
      mdwe: one("MemoryDenyWriteExecute") === "yes",
    }),
  );
  expect(one("SystemCallArchitectures")).toBe("native"); // a libseccomp filter allows only the native ABI by default
  expect(one("DynamicUser")).toBe("yes");
  expect(one("PrivateUsers")).toBe("yes");
  expect(one("CapabilityBoundingSet")).toBe("");
  expect(one("NoNewPrivileges")).toBe("yes");
  const proc = `hidepid=${one("ProtectProc") ?? "default"},subset=${one("ProcSubset") ?? "all"}`;

  const inner = [
    'while [ -z "$(cat /proc/self/gid_map)" ]; do sleep 0.01; done',
    `mount -t proc -o ${proc} proc /proc`,
    `exec setpriv --reuid ${SERVICE_ID} --regid ${SERVICE_ID} --clear-groups --bounding-set -all --inh-caps -all --no-new-privs ${PYTHON} -c "$LOADER" "$@"`,
  ].join("\n");
  let [program, ...rest] = serverCommand();
  if (process.env.MA_TEST_SERVER) {
    // Wherever the binary was built (a home directory of mode 0700, say), the service's user must reach it.
    copyFileSync(program!, (program = join(dir, "micro-analytics")));
    chmodSync(program, 0o755);
  }
  const command = [program!, ...rest, "--host", "127.0.0.1", "--port", "0", "--root", root, "--cache-directory", join(root, "..", "cache")];
  const outer = Bun.spawn(["unshare", "--user", "--mount", "--pid", "--fork", "--propagation", "private", "sh", "-c", inner, "sh", policy, ...command], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LOADER: SECCOMP_LOADER, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  cleanups.push(() => outer.kill("SIGKILL"));
  let output = "";
  for (const stream of [outer.stdout, outer.stderr]) {
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
    })();
  }

  // As systemd does for PrivateUsers=: only root and the service's user are mapped.
  const own = readlinkSync("/proc/self/ns/user");
  await waitFor("unshare to make its namespaces", () => {
    try {
      return readlinkSync(`/proc/${outer.pid}/ns/user`) !== own;
    } catch {
      return false;
    }
  });
  const map = `0 0 1\n${SERVICE_ID} ${SERVICE_ID} 1\n`;
  writeFileSync(`/proc/${outer.pid}/uid_map`, map);
  writeFileSync(`/proc/${outer.pid}/gid_map`, map);

  // A call outside the filter kills the service with SIGSYS, and unshare then ends itself by the same signal.
  const ended = () => outer.exitCode !== null || outer.signalCode !== null;
  const port = await waitFor("the sandboxed service to listen", () => /listening on http:\/\/[^\s]*?:(\d+)/.exec(output)?.[1] ?? (ended() ? "ended" : undefined));
  if (port === "ended") throw new Error(`the sandboxed service ended (exit ${outer.exitCode}, signal ${outer.signalCode}) before it listened:\n${output}`);
  // unshare --fork runs the command as its one child; each exec keeps that pid.
  const pid = Number(readFileSync(`/proc/${outer.pid}/task/${outer.pid}/children`, "utf8").trim());
  return { url: `http://127.0.0.1:${port}`, pid, output: () => output, exited: outer.exited };
}

describe.skipIf(cannotSandbox !== undefined)("the unit's sandbox", () => {
  test("the service starts, ingests, answers every query, exports, deletes, says READY=1 and stops cleanly inside it", async () => {
    const base = tempDir("ma-sandbox-root-");
    cleanups.push(() => rmSync(base, { recursive: true, force: true }));
    chownSync(base, SERVICE_ID, SERVICE_ID);
    const root = join(base, "dbs");
    const socket = `@ma-sandbox-notify-${process.pid}-${Date.now()}`;
    const listener = await listenForNotifications(socket);
    cleanups.push(() => listener.close());

    const service = await startSandboxed(root, { NOTIFY_SOCKET: socket });
    // The pid namespace of the sandbox: /proc there shows only the service itself.
    expect(readFileSync(`/proc/${service.pid}/status`, "utf8")).toMatch(new RegExp(`^Uid:\\t${SERVICE_ID}\\t`, "m"));
    expect(readFileSync(`/proc/${service.pid}/status`, "utf8")).toMatch(/^CapEff:\t0+$/m);
    expect(readFileSync(`/proc/${service.pid}/status`, "utf8")).toMatch(/^Seccomp:\t2$/m);
    await listener.next("READY=1");

    const headers = { "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0.0.0 Safari/537.36", Referer: "https://www.google.com/x" };
    expect((await request(`${service.url}/site.example`, { body: { event: "view", ip: "8.8.8.8", time: "2015-11-24T13:00:00Z", headers } })).status).toBe(200);
    const list = Array.from({ length: 300 }, (_, i) => ({ event: `e${i % 5}`, path: `/p/${i}`, ip: `10.0.${i % 7}.${i % 250}`, time: Date.UTC(2015, i % 12, 10) / 1000 }));
    expect((await request(`${service.url}/site.example/bulk`, { body: { list } })).body).toEqual({ inserted: 300 });
    expect((await request(`${service.url}/bulk`, { body: { list: [{ website: "other.example", event: "x", ip: "2001:db8::1" }] } })).body).toEqual({ inserted: 1 });

    expect((await request(`${service.url}/site.example/count`)).body).toEqual({ total: 301, unique: new Set(list.map((e) => e.ip)).size + 1 });
    for (const route of ["countries?unique=true", "platforms", "domains", "events", "time?interval=3600&unique=true"]) {
      const answer = await request(`${service.url}/site.example/${route}`);
      expect({ route, status: answer.status }).toEqual({ route, status: 200 });
      expect(answer.body.list.length).toBeGreaterThan(0);
    }
    expect((await request(`${service.url}/site.example/countries`)).body.list).toContainEqual(expect.objectContaining({ id: "us", total: 1 }));
    expect((await request(`${service.url}/site.example`)).body.list).toHaveLength(301);
    expect((await request(`${service.url}/other.example`, { method: "DELETE" })).body).toEqual({ deleted: "other.example" });
    expect(existsSync(join(root, "other.example"))).toBe(false);
    expect((await request(`${service.url}/_health`)).status).toBe(200);
    // The process_* metrics read /proc/self only, which ProcSubset=pid leaves in place.
    const metrics = await request(`${service.url}/_metrics`);
    expect(metrics.status).toBe(200);
    for (const name of ["process_open_fds", "process_max_fds", "process_virtual_memory_bytes", "process_resident_memory_bytes"]) {
      expect(metrics.body).toMatch(new RegExp(`^${name} \\d`, "m"));
    }

    process.kill(service.pid, "SIGTERM");
    await listener.next("STOPPING=1");
    expect(await service.exited).toBe(0);
    expect(service.output()).toContain("every shard closed");
  }, SLOW);
});
