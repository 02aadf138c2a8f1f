import { Elysia } from "elysia";
import { AppError } from "../../errors";
import { websiteParam } from "../../http/website-param";
import type { Store } from "../../store/store";
import type { QueryEngine } from "./engine";
import { exportVisits } from "./export";
import { parseExport, parseInterval, parseProperty, parseRange, parseUnique } from "./model";

const JSON_TYPE = { "content-type": "application/json;charset=utf-8" };

/**
 * The read routes. Counts, breakdowns and series are computed by the query
 * worker (see engine.ts); the event list streams from the shards here. The
 * original's `cache` parameter is accepted and ignored: answers are cached
 * anyway, and never stale.
 */
export function queryRoutes(store: Store, engine: QueryEngine) {
  const knownWebsite = (segment: string | undefined, request: Request): string => {
    const website = websiteParam(segment, request);
    if (!store.hasWebsite(website)) {
      throw new AppError("InvalidDatabaseName", `There is no website named "${website}"; it is created by its first event.`);
    }
    return website;
  };
  const json = async (body: Promise<string>) => new Response(await body, { headers: JSON_TYPE });

  return new Elysia({ name: "query" })
    // A first query over a long range builds month summaries and may take
    // longer than the server's idle timeout, which would cut the connection.
    .onBeforeHandle(({ request, server }) => server?.timeout(request, 0))
    .get("/:website", ({ params, query, request }) =>
      exportVisits(store, knownWebsite(params.website, request), parseRange(query), parseExport(query)),
    )
    .get("/:website/count", ({ params, query, request }) =>
      json(engine.run({ kind: "count", website: knownWebsite(params.website, request), range: parseRange(query) })),
    )
    .get("/:website/time", ({ params, query, request }) =>
      json(
        engine.run({
          kind: "series",
          website: knownWebsite(params.website, request),
          range: parseRange(query),
          interval: parseInterval(query),
          unique: parseUnique(query),
        }),
      ),
    )
    .get("/:website/:property", ({ params, query, request }) => {
      const website = knownWebsite(params.website, request);
      return json(
        engine.run({ kind: "breakdown", website, property: parseProperty(params.property), range: parseRange(query), unique: parseUnique(query) }),
      );
    });
}
