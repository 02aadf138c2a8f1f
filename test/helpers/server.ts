import type { Subprocess } from "bun";
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { compiledBinary } from "./binary";
import { defer, tempDir } from "./cleanup";
import { matches, waitFor } from "./wait";

export { tempDir };

/**
 * The command that starts the service. MA_TEST_SERVER says which: "binary"
 * (the compiled one, see binary.ts; what `bun test` uses, see preload.ts),
 * "sources" (`bun src/main.ts`, the default outside the test runner, as for
 * the benchmarks), or the path of any other executable to prove.
 */
export function serverCommand(): string[] {
  const chosen = process.env.MA_TEST_SERVER ?? "sources";
  if (chosen === "sources") return [process.execPath, resolve(import.meta.dir, "../../src/main.ts")];
  if (chosen === "binary") return [compiledBinary()];
  return [resolve(chosen)];
}

/**
 * The environment a server starts with: the test's own, without any MA_* or
 * PORT setting, plus `extra`. Nor MIMALLOC_* (the test runner's allocator
 * settings, see package.json): a server keeps memory as it does in production,
 * where the memory tests measure it.
 */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith("MA_") && !name.startsWith("MIMALLOC_") && name !== "PORT") env[name] = value;
  }
  return { ...env, ...extra };
}

export interface TestServer {
  url: string;
  root: string;
  pid: number;
  /** The process itself: its exit code, the signal that ended it. */
  proc: Subprocess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Waits until the output (from `from` on) matches; answers all of it. */
  waitForOutput(pattern: string | RegExp, options?: { from?: number; timeoutMs?: number }): Promise<string>;
  /** SIGTERM, then waits for the exit (SIGKILL past 15 s); harmless when already stopped. */
  stop(): Promise<void>;
}

export interface StartOptions {
  args?: string[];
  env?: Record<string, string>;
  /** Defaults to a new temporary directory, removed by stop(); null passes no --root at all. */
  root?: string | null;
  /** Defaults to 0 (a free port); null passes no --port, leaving it to the environment. */
  port?: number | null;
  /** Defaults to a new temporary directory, removed by stop(). */
  cwd?: string;
  /** A command the server runs under, such as `setpriv` with its arguments. */
  prefix?: string[];
  /** Where its stop is registered: by default the file's cleanup. */
  lifetime?: (step: () => unknown) => void;
}

/** A bound for a start-up on a loaded machine (a start takes some 0.2 s). */
const START_MS = 15_000;

/**
 * Starts a real server on loopback and waits until it listens (which it does
 * once its query worker is ready). It is stopped by cleanup at the latest.
 */
export async function startServer(options: StartOptions = {}): Promise<TestServer> {
  // First, as it may build the binary, or fail to: before any directory is made.
  const command = serverCommand();
  const ownRoot = options.root === undefined ? tempDir() : undefined;
  const root = options.root === undefined ? join(ownRoot!, "dbs") : options.root;
  const ownCwd = options.cwd === undefined ? tempDir("ma-cwd-") : undefined;
  const args = [
    "--host",
    "127.0.0.1",
    ...(options.port === null ? [] : ["--port", String(options.port ?? 0)]),
    ...(root === null ? [] : ["--root", root]),
  ];
  const proc = Bun.spawn([...(options.prefix ?? []), ...command, ...args, ...(options.args ?? [])], {
    cwd: options.cwd ?? ownCwd,
    env: cleanEnv(options.env),
    stdout: "pipe",
    stderr: "pipe",
  });

  let output = "";
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
  };
  const drained = Promise.all([drain(proc.stdout), drain(proc.stderr)]);

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      await proc.exited;
      clearTimeout(timer);
      await drained;
      if (ownRoot) rmSync(ownRoot, { recursive: true, force: true });
      if (ownCwd) rmSync(ownCwd, { recursive: true, force: true });
    })());
  (options.lifetime ?? defer)(stop);

  const waitForOutput = async (pattern: string | RegExp, { from = 0, timeoutMs = START_MS } = {}) => {
    await waitFor(`${pattern} in the server's output:\n${output}`, () => matches(output.slice(from), pattern), timeoutMs);
    return output;
  };

  let port: string | undefined;
  try {
    await waitFor(
      "the server to listen",
      () => (port = /listening on http:\/\/\S*?:(\d+)/.exec(output)?.[1]) ?? (proc.exitCode !== null || proc.signalCode !== null),
      START_MS,
    );
  } catch {
    // Past the bound: reported below with what it said.
  }
  if (!port) {
    proc.kill("SIGKILL");
    await stop();
    throw new Error(`server did not start (exit ${proc.exitCode}):\n${output}`);
  }

  return { url: `http://127.0.0.1:${port}`, root: root ?? "", pid: proc.pid, proc, output: () => output, waitForOutput, stop };
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the service's command line to completion (--help, the maintenance commands, refused start-ups). */
export async function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 15_000): Promise<CliResult> {
  const command = serverCommand();
  const cwd = tempDir("ma-cwd-");
  const proc = Bun.spawn([...command, ...args], { cwd, env: cleanEnv(env), stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  rmSync(cwd, { recursive: true, force: true });
  return { exitCode, stdout, stderr };
}

export interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

export interface JsonRequest {
  method?: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is, instead of `body`. */
  raw?: string | Uint8Array;
  headers?: Record<string, string>;
}

/** A bound for one request on a loaded machine: a request never answered fails the test, it does not outlive it. */
export const REQUEST_MS = 15_000;

/** The fetch init of a JSON request. */
export function jsonInit(init: JsonRequest = {}): RequestInit {
  const body = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
  return {
    method: init.method ?? (body === undefined ? "GET" : "POST"),
    body,
    headers: { "content-type": "application/json", ...init.headers },
  };
}

/** Status, headers, and the body parsed as JSON (or the raw text when it is not JSON). */
export async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: the test sees the raw text and its assertion says what was wrong.
  }
  return { status: response.status, body, headers: response.headers };
}

/** JSON request helper over real HTTP: returns status, parsed body and headers. */
export async function request(url: string, init: JsonRequest = {}): Promise<Answer> {
  return answerOf(await fetch(url, { ...jsonInit(init), signal: AbortSignal.timeout(REQUEST_MS) }));
}
