import { Elysia } from "elysia";
import type { Limits } from "../../config/config";
import { readJsonBody } from "../../http/body";
import { websiteParam } from "../../http/website-param";
import { retentionStart } from "../../store/retention";
import type { BulkSplitter } from "../cluster/forward";
import { parseBulkBody, parseMultiBulkBody, parseSingleBody, type EventRules } from "./model";
import type { IngestService } from "./service";

/**
 * The write routes. Each reads its body once, checks every event in it, and
 * only then writes: an invalid item means nothing of the request is stored.
 * On a node of a cluster (`splitBulk`, see cluster/forward.ts) `POST /bulk`
 * sends each website's events to its owner instead.
 */
export function ingestRoutes(ingest: IngestService, limits: Limits, retentionMonths: number, splitBulk?: BulkSplitter) {
  const rules = (): EventRules => {
    const now = Math.floor(Date.now() / 1000);
    return { now, oldest: retentionStart(now, retentionMonths), ...limits };
  };
  // Bodies are read by readJsonBody, which enforces the size limit while reading.
  const raw = { parse: "none" } as const;
  return new Elysia({ name: "ingest" })
    .post(
      "/bulk",
      async ({ request }) => {
        const body = await readJsonBody(request, limits.maxBodyBytes);
        const events = parseMultiBulkBody(body, rules());
        return splitBulk ? splitBulk(events, (body as { list: unknown[] }).list) : ingest.insertAddressed(events);
      },
      raw,
    )
    .post(
      "/:website/bulk",
      async ({ params, request }) => {
        const website = websiteParam(params.website, request);
        const events = parseBulkBody(await readJsonBody(request, limits.maxBodyBytes), rules());
        return ingest.insert(website, events);
      },
      raw,
    )
    .post(
      "/:website",
      async ({ params, request }) => {
        const website = websiteParam(params.website, request);
        const event = parseSingleBody(await readJsonBody(request, limits.maxBodyBytes), rules());
        return ingest.insert(website, [event]);
      },
      raw,
    );
}
