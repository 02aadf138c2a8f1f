/** Shared by the benchmarks: a wrk driver, and readings of a process from /proc. */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openPaths } from "../test/helpers/files";

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/**
 * Runs wrk against `url`, POSTing `body` on every request, and reads its
 * summary. With `addresses`, each request's body has its `__IP__` replaced
 * by the next of that many addresses (10.x.y.z), so memos of addresses miss
 * as they do with real visitors.
 */
export async function postLoad(url: string, body: string, opts: { dir: string; seconds: number; connections: number; addresses?: number }): Promise<LoadResult> {
  const bodyFile = join(opts.dir, `body-${Math.random().toString(36).slice(2)}.json`);
  const script = `${bodyFile}.lua`;
  writeFileSync(bodyFile, body);
  const perRequest = opts.addresses
    ? `local n = 0
local template = wrk.body
request = function()
  n = n + 1
  local i = n % ${opts.addresses}
  local ip = string.format("10.%d.%d.%d", math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256)
  return wrk.format(nil, nil, nil, (template:gsub("__IP__", ip)))
end
`
    : "";
  writeFileSync(
    script,
    `local f = io.open("${bodyFile}", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
${perRequest}`,
  );
  const proc = Bun.spawn(
    ["wrk", "-t1", `-c${opts.connections}`, `-d${opts.seconds}s`, "--latency", "--timeout", "10s", "-s", script, url],
    { stdout: "pipe", stderr: "inherit" },
  );
  const out = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error(`wrk failed:\n${out}`);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50Ms: toMs(/\s50%\s+([\d.]+\w+)/.exec(out)?.[1]),
    p99Ms: toMs(/\s99%\s+([\d.]+\w+)/.exec(out)?.[1]),
    errors: Number(errors ?? 0) + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0),
  };
}

function toMs(value: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(value ?? "");
  if (!m) return NaN;
  const factor = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2] as "us" | "ms" | "s" | "m"];
  return Number(m[1]) * factor;
}

/** Peak resident memory of a process, from the kernel's high-water mark. */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
}

/** CPU time a process has used so far (user and system, all its threads), from /proc: in steps of 10 ms. */
export function cpuMs(pid: number): number {
  // The fields after the command's name (which may hold spaces, so is cut at its closing parenthesis).
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** How many shard files (`analytics.db`, not their -wal and -shm) a process holds open. */
export function openShardFiles(pid: number): number {
  return openPaths(pid).filter((path) => path.endsWith("analytics.db")).length;
}
