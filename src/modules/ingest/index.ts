import { Elysia } from "elysia";
import { readJsonBody } from "../../http/body";
import { assertWebsiteName } from "../../store/website";
import { parseBulkBody, parseMultiBulkBody, parseSingleBody } from "./model";
import type { IngestService } from "./service";

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * The write routes. Each reads its body once, checks every event in it, and
 * only then writes: an invalid item means nothing of the request is stored.
 */
export function ingestRoutes(ingest: IngestService, bodyLimit: number) {
  // Bodies are read by readJsonBody, which enforces the size limit while reading.
  const raw = { parse: "none" } as const;
  return new Elysia({ name: "ingest" })
    .post(
      "/bulk",
      async ({ request }) => {
        const events = parseMultiBulkBody(await readJsonBody(request, bodyLimit), nowSeconds());
        return { inserted: await ingest.insertAddressed(events) };
      },
      raw,
    )
    .post(
      "/:website/bulk",
      async ({ params: { website }, request }) => {
        assertWebsiteName(website);
        const events = parseBulkBody(await readJsonBody(request, bodyLimit), nowSeconds());
        return { inserted: await ingest.insert(website, events) };
      },
      raw,
    )
    .post(
      "/:website",
      async ({ params: { website }, request }) => {
        assertWebsiteName(website);
        const event = parseSingleBody(await readJsonBody(request, bodyLimit), nowSeconds());
        return { inserted: await ingest.insert(website, [event]) };
      },
      raw,
    );
}
