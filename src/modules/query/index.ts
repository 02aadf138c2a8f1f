import { Elysia } from "elysia";
import { AppError } from "../../errors";
import { websiteParam } from "../../http/website-param";
import type { Store } from "../../store/store";
import type { QueryEngine } from "./engine";
import { exportVisits } from "./export";
import { parseBreakdown, parseExport, parseFilters, parseInterval, parseRange, parseUnique, QueryParams, ROUTE_PARAMS } from "./model";

const JSON_TYPE = { "content-type": "application/json;charset=utf-8" };

/**
 * The read routes. Counts, breakdowns and series are computed by the query
 * worker (see engine.ts); the event list streams from the shards here. Each
 * reads its query string once, as model.ts says.
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
    .get("/_websites", ({ request }) => {
      QueryParams.read(request, ["cache"]);
      return json(engine.websites());
    })
    .get("/:website", ({ params, request }) => {
      const website = knownWebsite(params.website, request);
      const query = QueryParams.read(request, ROUTE_PARAMS.list);
      return exportVisits(store, website, parseRange(query), parseFilters(query), parseExport(query));
    })
    .get("/:website/count", ({ params, request }) => {
      const website = knownWebsite(params.website, request);
      const query = QueryParams.read(request, ROUTE_PARAMS.count);
      // Unique visitors are always counted here; the parameter is only checked.
      parseUnique(query);
      return json(engine.run({ kind: "count", website, range: parseRange(query), filters: parseFilters(query) }));
    })
    .get("/:website/time", ({ params, request }) => {
      const website = knownWebsite(params.website, request);
      const query = QueryParams.read(request, ROUTE_PARAMS.series);
      const interval = parseInterval(query);
      return json(engine.run({ kind: "series", website, range: parseRange(query), filters: parseFilters(query), interval, unique: parseUnique(query) }));
    })
    .get("/:website/:property", ({ params, request }) => {
      const website = knownWebsite(params.website, request);
      const dimension = parseBreakdown(params.property);
      const query = QueryParams.read(request, ROUTE_PARAMS.breakdown);
      return json(engine.run({ kind: "breakdown", website, dimension, range: parseRange(query), filters: parseFilters(query), unique: parseUnique(query) }));
    });
}
