import { Elysia } from "elysia";
import type { Logger } from "../observe/log";
import type { Metrics } from "../observe/metrics";
import { answerBytes, noteAnswerBytes } from "./answer";
import { streamEnd } from "./connection";
import { loggedPath } from "./website-param";

interface Arrival {
  at: number;
  client: string | undefined;
}

/**
 * One log line and one metrics sample per answered request: method, path
 * (never the query string, which may carry a token), status, duration, the
 * answer's bytes and the client's address (not with `logClient` off: the
 * hash modes keep no visitor's address, and nor may the log). The status is read from
 * `set.status`, which the error handler sets too. A streamed answer is
 * counted when its stream ends, so its time and bytes are the whole download's.
 */
export function observe(metrics: Metrics, log: Logger, logClient = true) {
  const arrivals = new WeakMap<Request, Arrival>();
  const logged = logClient && log.writes("info");
  return new Elysia({ name: "observe" })
    .onRequest(({ request, server }) => {
      arrivals.set(request, { at: performance.now(), client: logged ? (server?.requestIP(request)?.address ?? undefined) : undefined });
    })
    .onAfterHandle({ as: "global" }, ({ request, responseValue }) => {
      if (log.writes("info")) noteAnswerBytes(request, bodyBytes(responseValue));
    })
    .onAfterResponse({ as: "global" }, ({ request, route, set }) => {
      const arrival = arrivals.get(request) ?? { at: performance.now(), client: undefined };
      const status = typeof set.status === "number" ? set.status : 200;
      const record = (bytes: number | undefined) => {
        const ms = performance.now() - arrival.at;
        metrics.observeRequest(route || "unmatched", request.method, status, ms / 1000);
        log.request({ method: request.method, path: loggedPath(request), status, durationMs: ms, bytes, client: arrival.client });
      };
      const streamed = streamEnd(request);
      if (streamed) void streamed.then(record);
      else record(answerBytes(request));
    });
}

/** The bytes of an answer's body, from what the handler gave: our Responses state them (see answer.ts), anything else is measured. */
function bodyBytes(value: unknown): number | undefined {
  if (value instanceof Response) {
    const length = value.headers.get("content-length");
    return length === null ? undefined : Number(length);
  }
  if (typeof value === "string") return Buffer.byteLength(value);
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) return value.byteLength;
  if (value === undefined || value === null) return 0;
  // Elysia sends an object as its JSON.
  return Buffer.byteLength(JSON.stringify(value));
}
