import type { Subprocess } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/**
 * The command that starts the service. Tests run the sources by default;
 * MA_TEST_SERVER names another executable (the compiled binary) to prove instead.
 */
export function serverCommand(): string[] {
  const binary = process.env.MA_TEST_SERVER;
  return binary ? [resolve(binary)] : [process.execPath, resolve(import.meta.dir, "../../src/main.ts")];
}

export function tempDir(prefix = "ma-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The environment a server starts with: the test's own, without any MA_* or PORT setting. */
function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith("MA_") && name !== "PORT") env[name] = value;
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
  stop(): Promise<void>;
}

export interface StartOptions {
  args?: string[];
  env?: Record<string, string>;
  /** Defaults to a new temporary directory, removed by stop(). */
  root?: string;
  cwd?: string;
  /** A command the server runs under, such as `setpriv` with its arguments. */
  prefix?: string[];
}

/** Starts a real server on an ephemeral loopback port and waits until it answers. */
export async function startServer(options: StartOptions = {}): Promise<TestServer> {
  const ownRoot = options.root === undefined;
  const root = options.root ?? join(tempDir(), "dbs");
  const ownCwd = options.cwd === undefined ? tempDir("ma-cwd-") : undefined;
  const proc = Bun.spawn([...(options.prefix ?? []), ...serverCommand(), "--host", "127.0.0.1", "--port", "0", "--root", root, ...(options.args ?? [])], {
    cwd: options.cwd ?? ownCwd,
    env: cleanEnv(options.env ?? {}),
    stdout: "pipe",
    stderr: "pipe",
  });

  let output = "";
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
  };
  void drain(proc.stdout);
  void drain(proc.stderr);

  const deadline = Date.now() + 15_000;
  let port: string | undefined;
  while (!(port = /listening on http:\/\/[^\s]*?:(\d+)/.exec(output)?.[1])) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`server did not start (exit ${proc.exitCode}):\n${output}`);
    }
    await Bun.sleep(10);
  }

  return {
    url: `http://127.0.0.1:${port}`,
    root,
    pid: proc.pid,
    proc,
    output: () => output,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
      if (ownRoot) rmSync(join(root, ".."), { recursive: true, force: true });
      if (ownCwd) rmSync(ownCwd, { recursive: true, force: true });
    },
  };
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the service's command line to completion (for --help, --version and refused start-ups). */
export async function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 10_000): Promise<CliResult> {
  const cwd = tempDir("ma-cwd-");
  const proc = Bun.spawn([...serverCommand(), ...args], {
    cwd,
    env: cleanEnv(env),
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  rmSync(cwd, { recursive: true, force: true });
  return { exitCode, stdout, stderr };
}

/** JSON request helper: returns status, parsed body and headers. */
export async function request(
  url: string,
  init: { method?: string; body?: unknown; raw?: string | Uint8Array; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const body = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
  const response = await fetch(url, {
    method: init.method ?? (body === undefined ? "GET" : "POST"),
    body,
    headers: { "content-type": "application/json", ...init.headers },
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: the test sees the raw text and its assertion says what was wrong.
  }
  return { status: response.status, body: parsed, headers: response.headers };
}
