import { Elysia } from "elysia";
import { readJsonBody } from "../../http/body";
import { assertWebsiteName } from "../../store/website";
import { retentionStart } from "../../store/retention";
import { parseBulkBody, parseMultiBulkBody, parseSingleBody, type TimeWindow } from "./model";
import type { IngestService } from "./service";


/**
 * The write routes. Each reads its body once, checks every event in it, and
 * only then writes: an invalid item means nothing of the request is stored.
 */
export function ingestRoutes(ingest: IngestService, bodyLimit: number, retentionMonths: number) {
  const timeWindow = (): TimeWindow => {
    const now = Math.floor(Date.now() / 1000);
    return { now, oldest: retentionStart(now, retentionMonths) };
  };
  // Bodies are read by readJsonBody, which enforces the size limit while reading.
  const raw = { parse: "none" } as const;
  return new Elysia({ name: "ingest" })
    .post(
      "/bulk",
      async ({ request }) => {
        const events = parseMultiBulkBody(await readJsonBody(request, bodyLimit), timeWindow());
        return { inserted: await ingest.insertAddressed(events) };
      },
      raw,
    )
    .post(
      "/:website/bulk",
      async ({ params: { website }, request }) => {
        assertWebsiteName(website);
        const events = parseBulkBody(await readJsonBody(request, bodyLimit), timeWindow());
        return { inserted: await ingest.insert(website, events) };
      },
      raw,
    )
    .post(
      "/:website",
      async ({ params: { website }, request }) => {
        assertWebsiteName(website);
        const event = parseSingleBody(await readJsonBody(request, bodyLimit), timeWindow());
        return { inserted: await ingest.insert(website, [event]) };
      },
      raw,
    );
}
