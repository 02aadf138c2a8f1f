import type { Server } from "bun";
import { Elysia } from "elysia";
import type { ConnectionTimeouts } from "../../config/config";
import { AppError } from "../../errors";
import { jsonResponse } from "../../http/answer";
import { watchStream, withoutIdleTimeout } from "../../http/connection";
import { websiteParam } from "../../http/website-param";
import type { Store } from "../../store/store";
import type { QueryEngine } from "./engine";
import { exportVisits } from "./export";
import { parseBreakdown, parseExport, parseFilters, parseInterval, parseLimit, parseRange, parseUnique, QueryParams, ROUTE_PARAMS } from "./model";

/**
 * The read routes. Counts, breakdowns and series are computed by the query
 * worker (see engine.ts); the event list streams from the shards here. Each
 * reads its query string once, as model.ts says.
 */
export function queryRoutes(store: Store, engine: QueryEngine, timeouts: ConnectionTimeouts) {
  const knownWebsite = (segment: string | undefined, request: Request): string => {
    const website = websiteParam(segment, request);
    if (!store.hasWebsite(website)) {
      throw new AppError("InvalidDatabaseName", `There is no website named "${website}"; it is created by its first event.`);
    }
    return website;
  };
  const json = async (request: Request, server: Server<unknown> | null, body: Promise<string>) =>
    jsonResponse(await withoutIdleTimeout(request, server, timeouts, body));

  return new Elysia({ name: "query" })
    .get("/_websites", ({ request, server }) => {
      QueryParams.read(request, ["cache"]);
      return json(request, server, engine.websites());
    })
    .get("/:website", ({ params, request, server }) => {
      const website = knownWebsite(params.website, request);
      const query = QueryParams.read(request, ROUTE_PARAMS.list);
      return exportVisits(store, website, parseRange(query), parseFilters(query), parseExport(query), watchStream(request, server, timeouts));
    })
    .get("/:website/count", ({ params, request, server }) => {
      const website = knownWebsite(params.website, request);
      const query = QueryParams.read(request, ROUTE_PARAMS.count);
      // Unique visitors are always counted here; the parameter is only checked.
      parseUnique(query);
      return json(request, server, engine.run({ kind: "count", website, range: parseRange(query), filters: parseFilters(query) }));
    })
    .get("/:website/time", ({ params, request, server }) => {
      const website = knownWebsite(params.website, request);
      const query = QueryParams.read(request, ROUTE_PARAMS.series);
      const interval = parseInterval(query);
      return json(
        request,
        server,
        engine.run({ kind: "series", website, range: parseRange(query), filters: parseFilters(query), interval, unique: parseUnique(query) }),
      );
    })
    .get("/:website/:property", ({ params, request, server }) => {
      const website = knownWebsite(params.website, request);
      const dimension = parseBreakdown(params.property);
      const query = QueryParams.read(request, ROUTE_PARAMS.breakdown);
      return json(
        request,
        server,
        engine.run({
          kind: "breakdown",
          website,
          dimension,
          range: parseRange(query),
          filters: parseFilters(query),
          unique: parseUnique(query),
          limit: parseLimit(query),
        }),
      );
    });
}
