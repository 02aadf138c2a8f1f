import type { Server } from "bun";
import { openApp, type TestApp } from "./app";

export interface ServedApp {
  app: TestApp;
  /** Where other nodes reach it: http://127.0.0.1:PORT. */
  url: string;
  close(): Promise<void>;
}

/**
 * An in-process app (see app.ts) also reachable over real HTTP on an
 * ephemeral loopback port: for what one node asks another (a move pulls
 * months from the old owner while it answers the new one's requests). `port`
 * is for nodes that must know each other's URLs before they start (--nodes).
 */
export async function serveApp(args: string[] = [], port = 0): Promise<ServedApp> {
  const app = await openApp(args);
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port,
    fetch: (request) => {
      const url = new URL(request.url);
      return app.fetch(url.pathname + url.search, request);
    },
  });
  return {
    app,
    url: `http://127.0.0.1:${server.port}`,
    async close() {
      await server.stop(true);
      await app.close();
    },
  };
}

/** A loopback HTTP server of the test's own, such as a stand-in router; `handle` answers every request. */
export function serveLoopback(handle: (request: Request) => Response | Promise<Response>): { url: string; server: Server<undefined> } {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: handle });
  return { url: `http://127.0.0.1:${server.port}`, server };
}
