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
import { parseExport, parseInterval, parseProperty, parseRange, parseUnique } from "./model";

/**
 * The read routes. Counts, breakdowns and series are computed by the query
 * worker (see engine.ts); the event list streams from the shards here. The
 * original's `cache` parameter is accepted and ignored: answers are cached
 * anyway, and never stale.
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
    .get("/:website", ({ params, query, request, server }) =>
      exportVisits(store, knownWebsite(params.website, request), parseRange(query), parseExport(query), watchStream(request, server, timeouts)),
    )
    .get("/:website/count", ({ params, query, request, server }) =>
      json(request, server, engine.run({ kind: "count", website: knownWebsite(params.website, request), range: parseRange(query) })),
    )
    .get("/:website/time", ({ params, query, request, server }) =>
      json(
        request,
        server,
        engine.run({
          kind: "series",
          website: knownWebsite(params.website, request),
          range: parseRange(query),
          interval: parseInterval(query),
          unique: parseUnique(query),
        }),
      ),
    )
    .get("/:website/:property", ({ params, query, request, server }) => {
      const website = knownWebsite(params.website, request);
      return json(
        request,
        server,
        engine.run({ kind: "breakdown", website, property: parseProperty(params.property), range: parseRange(query), unique: parseUnique(query) }),
      );
    });
}
