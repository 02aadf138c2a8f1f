import { openApp, type AppOptions } from "./app";
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
  open(options?: TargetOptions): Promise<Target>;
}

export const inProcess: Targets = {
  name: "in process",
  open: ({ args, ...options } = {}) => openApp(args, options),
};

/** Real servers; with `bun test` the compiled binary (see server.ts). */
export const overHttp: Targets = {
  name: "over HTTP",
  async open({ args, root, env } = {}) {
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
  },
};
