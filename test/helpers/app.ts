import { rmSync } from "node:fs";
import { join } from "node:path";
import { createApp } from "../../src/app";
import { loadConfig } from "../../src/config/config";
import { createLogger } from "../../src/observe/log";
import { openServices } from "../../src/services";
import { tempDir } from "./server";

export interface TestApp {
  root: string;
  cacheDir: string;
  /** One request through the app, in process: no socket, no port. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** The same, answering status, headers and the body parsed as JSON (or the raw text). */
  request(path: string, init?: { method?: string; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers }>;
  close(): void;
}

/**
 * The whole service in the test's own process, as `serve` opens it (real
 * shards in a temporary root, the real query worker, the embedded GeoIP
 * database), reached through `app.handle`. `args` are the command line's.
 */
export async function openApp(args: string[] = []): Promise<TestApp> {
  const dir = tempDir("ma-app-");
  const root = join(dir, "dbs");
  const cacheDir = join(dir, "cache");
  const command = loadConfig(["--root", root, "--cache-directory", cacheDir, "--log-level", "error", ...args], {});
  if (command.name !== "serve") throw new Error(`openApp takes serve's flags, not ${command.name}`);
  const services = await openServices(command.config, createLogger(command.config.logLevel, command.config.logFormat));
  const app = createApp(services.deps);

  const fetch = (path: string, init?: RequestInit) => app.handle(new Request(`http://service.test${path}`, init));
  return {
    root,
    cacheDir,
    fetch,
    async request(path, init = {}) {
      const body = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
      const response = await fetch(path, {
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
    },
    close() {
      services.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
