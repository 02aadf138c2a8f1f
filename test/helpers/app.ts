import { afterAll, beforeAll } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createApp, type AppDeps } from "../../src/app";
import { loadConfig, type Config } from "../../src/config/config";
import type { Fields, Logger } from "../../src/observe/log";
import { openServices, type Services } from "../../src/services";
import { defer, tempDir } from "./cleanup";
import { answerOf, jsonInit, type Answer, type JsonRequest } from "./server";
import { matches, waitFor } from "./wait";

export interface TestApp {
  root: string;
  /** The test's own process, which holds the service's files. */
  pid: number;
  cacheDir: string;
  /** The open services, for a test that drives them below HTTP (the query engine, the store). */
  services: Services;
  /** One request through the app, in process: no socket, no port. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** The same, answering status, headers and the body parsed as JSON (or the raw text). */
  request(path: string, init?: JsonRequest): Promise<Answer>;
  /** What the service logged so far, a line each (`INFO message key=value`). */
  output(): string;
  /** Waits until the log (from `from` on) matches; answers all of it. */
  waitForOutput(pattern: string | RegExp, options?: { from?: number; timeoutMs?: number }): Promise<string>;
  /**
   * An app with other flags over these same open services: the same root,
   * query worker, log and metrics, with its own credentials, limits, timeouts,
   * CORS origins, trusted proxies or bot rule (see Services.reconfigured,
   * which refuses any other flag). It costs no start; closing it leaves the
   * services open.
   */
  variant(args: string[], options?: { env?: Record<string, string> }): TestApp;
  /** Closes the services (the root stays when it was given); harmless twice. */
  close(): Promise<void>;
}

/**
 * For a file whose tests differ only in flags a variant takes (credentials,
 * limits, timeouts, CORS origins, trusted proxies, bot rule): one app, opened
 * before the file's first test and closed after its last; the answer makes a
 * variant of it, which costs no start.
 */
export function variantsOfOneApp(): (args: string[]) => TestApp {
  let base: TestApp | undefined;
  beforeAll(async () => {
    base = await openApp();
  });
  afterAll(() => base?.close());
  return (args) => base!.variant(args);
}

export interface AppOptions {
  /** Defaults to a new temporary directory, removed by close(). */
  root?: string;
  /** The environment as the service would read it (it never sees the test's own). */
  env?: Record<string, string>;
  /** Where its close is registered: by default the file's cleanup. */
  lifetime?: (step: () => unknown) => void;
}

/**
 * The whole service in the test's own process, as `serve` opens it (real
 * shards in a temporary root, the real query worker, the embedded GeoIP
 * database), reached through `app.handle`. `args` are the command line's.
 * It is handed out once the query worker has brought the summaries up to
 * date (it logs so), as it does after every start: from then on nothing
 * writes in the root unless asked, so a test sees a known state. It is
 * closed by cleanup at the latest.
 */
export async function openApp(args: string[] = [], options: AppOptions = {}): Promise<TestApp> {
  const dir = tempDir("ma-app-");
  const config = serveConfig(["--root", options.root ?? join(dir, "dbs"), "--cache-directory", join(dir, "cache"), ...args], options.env);
  const lines: string[] = [];
  let services: Services;
  try {
    services = await openServices(config, captureLog(lines));
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await services.close();
    rmSync(dir, { recursive: true, force: true });
  };
  (options.lifetime ?? defer)(close);

  const output = () => lines.join("");
  const waitForOutput = async (pattern: string | RegExp, { from = 0, timeoutMs = 15_000 } = {}) => {
    await waitFor(`${pattern} in the service's log:\n${output()}`, () => matches(output().slice(from), pattern), timeoutMs);
    return output();
  };
  await waitForOutput("summaries up to date");

  // Flags in `args` win over the temporary ones, as on a command line.
  const { root, cacheDirectory: cacheDir } = config;
  const appOver = (deps: AppDeps, close: () => Promise<void>): TestApp => {
    const app = createApp(deps);
    const fetch = (path: string, init?: RequestInit) => app.handle(new Request(`http://service.test${path}`, init));
    return {
      root,
      pid: process.pid,
      cacheDir,
      services,
      fetch,
      request: async (path, init) => answerOf(await fetch(path, jsonInit(init))),
      output,
      waitForOutput,
      variant: (args, { env } = {}) =>
        appOver(services.reconfigured(serveConfig(["--root", root, "--cache-directory", cacheDir, ...args], env)), async () => {}),
      close,
    };
  };
  return appOver(services.deps, close);
}

function serveConfig(args: string[], env: Record<string, string> = {}): Config {
  const command = loadConfig(args, env);
  if (command.name !== "serve") throw new Error(`openApp takes serve's flags, not ${command.name}`);
  return command.config;
}

/** A logger that keeps its lines for the test to read, as the text format writes them (without the time). */
function captureLog(lines: string[]): Logger {
  const write =
    (level: string) =>
    (message: string, fields: Fields = {}) => {
      const extra = Object.entries(fields)
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => ` ${key}=${value}`)
        .join("");
      lines.push(`${level} ${message}${extra}\n`);
    };
  const info = write("INFO");
  return {
    debug: () => {},
    info,
    warn: write("WARN"),
    error: write("ERROR"),
    notice: write("NOTICE"),
    request: ({ method, path, status, durationMs, bytes, client }) =>
      info(`${method} ${path} ${status} ${durationMs.toFixed(1)}ms`, { bytes, client }),
    writes: (level) => level !== "debug",
  };
}
