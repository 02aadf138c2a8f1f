import type { Server } from "bun";
import { Elysia } from "elysia";
import type { Limits } from "../../config/config";
import type { BotCheck } from "../../enrich/bots";
import { readJsonBody } from "../../http/body";
import { clientAddress, type ProxyTrust } from "../../http/client-address";
import { websiteParam } from "../../http/website-param";
import type { Metrics } from "../../observe/metrics";
import { retentionStart } from "../../store/retention";
import type { BulkSplitter } from "../cluster/forward";
import { parseBulkBody, parseMultiBulkBody, parseSingleBody, type EventRules, type IncomingEvent, type Requester } from "./model";
import type { InsertResult, IngestService } from "./service";

/** How the write routes read a request beyond its body. */
export interface IngestEdge {
  /** Which peers may say whom they forward (`--trust-proxy`). */
  trust: ProxyTrust;
  /** Set with `--bots drop`: events it recognises are not stored. */
  dropBots?: BotCheck;
  metrics: Metrics;
  /** On a node of a cluster (--router): `POST /bulk` sends each website's events to its owner instead (see cluster/forward.ts). */
  splitBulk?: BulkSplitter;
}

/**
 * The write routes. Each reads its body once, checks every event in it, and
 * only then writes: an invalid item means nothing of the request is stored.
 * An answer is `{"inserted": N}`, with `"duplicates": N` beside it when the
 * request gave event ids, and `"bots": N` when `--bots drop` left some
 * events out.
 */
export function ingestRoutes(ingest: IngestService, limits: Limits, retentionMonths: number, edge: IngestEdge) {
  const rules = (request: Request, server: Server<unknown> | null): EventRules => {
    const now = Math.floor(Date.now() / 1000);
    return { now, oldest: retentionStart(now, retentionMonths), ...limits, requester: requesterOf(request, server, edge.trust, limits.maxFieldLength) };
  };
  const stored = async <E extends IncomingEvent>(events: E[], insert: (events: E[]) => Promise<InsertResult>): Promise<InsertResult> => {
    const { dropBots } = edge;
    const kept = dropBots ? events.filter((event) => !dropBots(event.userAgent)) : events;
    const bots = events.length - kept.length;
    edge.metrics.botsDropped(bots);
    const result = kept.length > 0 ? await insert(kept) : events.some((event) => event.id !== undefined) ? { inserted: 0, duplicates: 0 } : { inserted: 0 };
    return bots > 0 ? { ...result, bots } : result;
  };
  // Bodies are read by readJsonBody, which enforces the size limit while reading.
  const raw = { parse: "none" } as const;
  return new Elysia({ name: "ingest" })
    .post(
      "/bulk",
      async ({ request, server }) => {
        const body = await readJsonBody(request, limits.maxBodyBytes);
        const events = parseMultiBulkBody(body, rules(request, server));
        // Split, every event goes on (its owner drops bots, with the same --bots).
        if (edge.splitBulk) return edge.splitBulk(events, (body as { list: unknown[] }).list);
        return stored(events, (kept) => ingest.insertAddressed(kept));
      },
      raw,
    )
    .post(
      "/:website/bulk",
      async ({ params, request, server }) => {
        const website = websiteParam(params.website, request);
        const events = parseBulkBody(await readJsonBody(request, limits.maxBodyBytes), rules(request, server));
        return stored(events, (kept) => ingest.insert(website, kept));
      },
      raw,
    )
    .post(
      "/:website",
      async ({ params, request, server }) => {
        const website = websiteParam(params.website, request);
        const event = parseSingleBody(await readJsonBody(request, limits.maxBodyBytes), rules(request, server));
        return stored([event], (kept) => ingest.insert(website, kept));
      },
      raw,
    );
}

/** The request's client (in process, with no socket, ""), and its own User-Agent and Referer; a value over --max-field-length is left out. */
function requesterOf(request: Request, server: Server<unknown> | null, trust: ProxyTrust, maxLength: number): Requester {
  const header = (name: string) => {
    const value = request.headers.get(name) ?? "";
    return value.length <= maxLength ? value : "";
  };
  return {
    ip: clientAddress(server?.requestIP(request)?.address, request.headers, trust),
    userAgent: header("user-agent"),
    referer: header("referer"),
  };
}
