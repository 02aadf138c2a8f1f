import { openApp, type AppOptions } from "./app";
import { defer } from "./cleanup";
import { REQUEST_MS, request, startServer, type Answer, type JsonRequest } from "./server";

/**
 * The service as the contract tests see it: something that answers
 * `fetch(path, init)`, with a root on disk and a log. The same tests run in
 * the fast tier against the app in process (`inProcess`) and in the process
 * tier against the compiled binary over HTTP (`overHttp`).
 */
export interface Target {
  root: string;
  /** The process that holds the service's files: the test's own in process. */
  pid: number;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** A JSON request: status, headers and the body parsed as JSON (or the raw text). */
  request(path: string, init?: JsonRequest): Promise<Answer>;
  /** What the service logged so far. */
  output(): string;
  /** Waits until the log (from `from` on) matches; answers all of it. */
  waitForOutput(pattern: string | RegExp, options?: { from?: number; timeoutMs?: number }): Promise<string>;
  /** Stops the service; a root that was given stays, for the next one to open. */
  close(): Promise<void>;
}

export interface TargetOptions extends AppOptions {
  /** The command line's flags. */
  args?: string[];
}

/** How a tier opens a service for the contract tests. */
export interface Targets {
  name: string;
  /** A service of its own, with these flags (or on this root). */
  open(options?: TargetOptions): Promise<Target>;
  /**
   * The file's one service with the default flags, for tests that only need
   * a service to talk to (each uses websites of its own): it saves a start
   * each. It is closed by cleanup; its own close() does nothing.
   */
  shared(): Promise<Target>;
}

function tier(name: string, open: (options?: TargetOptions) => Promise<Target>): Targets {
  let shared: Promise<Target> | undefined;
  return {
    name,
    open,
    shared() {
      if (!shared) {
        // Registered before the service's own stop, so it runs after it: the next file opens another.
        defer(() => (shared = undefined));
        shared = open().then((target) => ({ ...target, close: async () => {} }));
      }
      return shared;
    },
  };
}

export const inProcess = tier("in process", ({ args, ...options } = {}) => openApp(args, options));

/** Real servers; with `bun test` the compiled binary (see server.ts). */
export const overHttp = tier("over HTTP", async ({ args, root, env } = {}) => {
  const server = await startServer({ args, root, env });
  const fetch = (path: string, init?: RequestInit) =>
    globalThis.fetch(`${server.url}${path}`, { ...init, signal: init?.signal ?? AbortSignal.timeout(REQUEST_MS) });
  return {
    root: server.root,
    pid: server.pid,
    fetch,
    request: (path, init) => request(`${server.url}${path}`, init),
    output: server.output,
    waitForOutput: server.waitForOutput,
    close: server.stop,
  };
});
