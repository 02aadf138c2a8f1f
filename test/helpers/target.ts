import { openApp, type TestApp } from "./app";
import { defer, deferToEndOfRun } from "./cleanup";
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
  /**
   * The address the service sees the test's requests come from, which an event
   * without an ip is given: 127.0.0.1 over loopback, none in process
   * (app.handle has no connection).
   */
  clientAddress: string;
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

export interface TargetOptions {
  /** The command line's flags. */
  args?: string[];
  /** The environment as the service reads it (never the test's own). */
  env?: Record<string, string>;
  /** Defaults to a new temporary directory, removed when the service closes. */
  root?: string;
}

/** How a tier opens a service for the contract tests. */
export interface Targets {
  name: string;
  /** A service of its own, with these flags (or on this root). */
  open(options?: TargetOptions): Promise<Target>;
  /**
   * One service per set of flags (and environment), shared by every test that
   * asks for the same: for tests that only need a service so configured to
   * talk to, each with websites of its own, it saves a start each. Its own
   * close() does nothing: in process it lives until the run ends (the fast
   * tier's files all share it), over HTTP until the file's cleanup.
   */
  shared(options?: Omit<TargetOptions, "root">): Promise<Target>;
}

/** Where a service's stop is registered: the file's cleanup, or the end of the run. */
type Lifetime = (step: () => unknown) => void;

function tier(
  name: string,
  start: (options: TargetOptions, lifetime: Lifetime) => Promise<Target>,
  sharedLifetime: Lifetime,
  /** A service with these flags over the shared one with none, where that is sound; undefined where not. */
  variantOf?: (base: Target, options: Omit<TargetOptions, "root">) => Target | undefined,
): Targets {
  const shared = new Map<string, Promise<Target>>();
  const targets: Targets = {
    name,
    open: (options = {}) => start(options, defer),
    shared(options = {}) {
      const key = JSON.stringify([options.args ?? [], options.env ?? {}]);
      let target = shared.get(key);
      if (!target) {
        // Registered before the service's own stop, so it runs after it: the next one asked for opens anew.
        sharedLifetime(() => shared.delete(key));
        const base = key === JSON.stringify([[], {}]) || !variantOf ? undefined : targets.shared();
        target = (base ? base.then((opened) => variantOf!(opened, options)) : Promise.resolve(undefined))
          .then((variant) => variant ?? start(options, sharedLifetime))
          .then((opened) => ({ ...opened, close: async () => {} }));
        shared.set(key, target);
      }
      return target;
    },
  };
  return targets;
}

export const inProcess = tier(
  "in process",
  async ({ args, ...options }, lifetime) => ({ ...(await openApp(args, { ...options, lifetime })), clientAddress: "" }),
  deferToEndOfRun,
  (base, { args = [], env }) => {
    // The target is the app it was made of (see above), flags and all.
    const { variant } = base as Target & Pick<TestApp, "variant">;
    try {
      return { ...variant(args, { env }), clientAddress: "" };
    } catch {
      // Flags the open services cannot take (another root, ip mode, cache, cluster…): a service of its own.
      return undefined;
    }
  },
);

/** Real servers; with `bun test` the compiled binary (see server.ts). */
export const overHttp = tier(
  "over HTTP",
  async ({ args, root, env }, lifetime) => {
    const server = await startServer({ args, root, env, lifetime });
    // A known state, as openApp gives in process: nothing writes in the root from here on unless asked.
    await server.waitForOutput("summaries up to date");
    const fetch = (path: string, init?: RequestInit) =>
      globalThis.fetch(`${server.url}${path}`, { ...init, signal: init?.signal ?? AbortSignal.timeout(REQUEST_MS) });
    return {
      root: server.root,
      pid: server.pid,
      clientAddress: "127.0.0.1",
      fetch,
      request: (path, init) => request(`${server.url}${path}`, init),
      output: server.output,
      waitForOutput: server.waitForOutput,
      close: server.stop,
    };
  },
  defer,
);
