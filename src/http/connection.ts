import type { Server } from "bun";
import type { ConnectionTimeouts } from "../config/config";

/** Told when a streamed answer starts, and when it ends with the bytes it sent. */
export interface StreamWatcher {
  start(): void;
  end(bytes: number): void;
}

/** Streamed answers still being sent, by request: the request log waits for their end. */
const streaming = new WeakMap<Request, Promise<number>>();

/**
 * Computes an answer with the connection's idle timeout lifted: a first query
 * over a long range builds month summaries and may take longer than it. The
 * timeout is put back once the answer is ready, or the connection, kept
 * alive, would never time out again.
 */
export async function withoutIdleTimeout<T>(request: Request, server: Server<unknown> | null, timeouts: ConnectionTimeouts, work: Promise<T>): Promise<T> {
  server?.timeout(request, 0);
  try {
    return await work;
  } finally {
    server?.timeout(request, timeouts.keepaliveSeconds);
  }
}

/**
 * For an answer streamed as the client takes it: while it streams, a client
 * that reads nothing for `--send-timeout` is cut off (Bun's idle timer counts
 * while its socket cannot take more), which ends the stream and frees what it
 * held; after it, the connection idles as any other.
 */
export function watchStream(request: Request, server: Server<unknown> | null, timeouts: ConnectionTimeouts): StreamWatcher {
  const { promise, resolve } = Promise.withResolvers<number>();
  return {
    start() {
      streaming.set(request, promise);
      server?.timeout(request, timeouts.sendSeconds);
    },
    end(bytes) {
      server?.timeout(request, timeouts.keepaliveSeconds);
      resolve(bytes);
    },
  };
}

/** The bytes a streamed answer will have sent once it ends; undefined for an answer sent whole. */
export function streamEnd(request: Request): Promise<number> | undefined {
  return streaming.get(request);
}
