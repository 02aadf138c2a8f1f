import { NODE_HEADER } from "../../http/node-header";
import type { Credentials } from "../../http/auth";

/** A request between nodes that hears nothing for this long is given up (and may be retried). */
const REQUEST_TIMEOUT_MS = 120_000;

/** What a node answered: its status, its JSON body (or text), and which node it was (the router may pick). */
export interface NodeAnswer {
  status: number;
  body: any;
  node: string | undefined;
  headers: Headers;
}

/**
 * Requests from this node (or from `rebalance`) to the router and to other
 * nodes. Nodes authenticate to each other as clients do, with the
 * credentials they are configured with: the bearer token when one is set,
 * else the basic user and password. Every node of a cluster is therefore
 * given the same credentials.
 */
export class NodeClient {
  private readonly authorization: string | undefined;

  constructor({ user, password, token }: Pick<Credentials, "user" | "password" | "token">) {
    if (token !== "") this.authorization = `Bearer ${token}`;
    else if (user !== "") this.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  }

  fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.authorization) headers.set("authorization", this.authorization);
    return fetch(url, { ...init, headers, signal: init.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  }

  /** Sends `body` as JSON (a GET when there is none) and reads the answer as JSON. */
  async json(url: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<NodeAnswer> {
    const body = init.body === undefined ? undefined : typeof init.body === "string" ? init.body : JSON.stringify(init.body);
    const response = await this.fetch(url, {
      method: init.method ?? (body === undefined ? "GET" : "POST"),
      body,
      headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...init.headers },
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // A router's own error page is HTML; the caller reports the status.
    }
    return { status: response.status, body: parsed, node: response.headers.get(NODE_HEADER) ?? undefined, headers: response.headers };
  }
}

/** Runs `work` on every item, at most `limit` at once; settles when all have. */
export async function eachBounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** What went wrong with an answer, in a few words: its code and message when the service sent them. */
export function describeAnswer(answer: NodeAnswer): string {
  const detail = typeof answer.body === "object" && answer.body !== null && "message" in answer.body ? `${answer.body.code}: ${answer.body.message}` : "";
  return `${answer.status}${answer.node ? ` from ${answer.node}` : ""}${detail ? ` (${detail})` : ""}`;
}
