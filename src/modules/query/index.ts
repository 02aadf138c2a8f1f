import { Elysia } from "elysia";
import { AppError } from "../../errors";
import type { Store } from "../../store/store";
import { websiteParam } from "../../http/website-param";
import { exportVisits } from "./export";
import { parseExport, parseInterval, parseProperty, parseRange, parseUnique } from "./model";
import { breakdown, count, series } from "./service";

/**
 * The read routes. The original's `cache` parameter is accepted and ignored:
 * it never changed an answer.
 */
export function queryRoutes(store: Store) {
  const knownWebsite = (segment: string, request: Request): string => {
    const website = websiteParam(segment, request);
    if (!store.hasWebsite(website)) {
      throw new AppError("InvalidDatabaseName", `There is no website named "${website}"; it is created by its first event.`);
    }
    return website;
  };

  return new Elysia({ name: "query" })
    .get("/:website", ({ params, query, request }) =>
      exportVisits(store, knownWebsite(params.website, request), parseRange(query), parseExport(query)),
    )
    .get("/:website/count", ({ params, query, request }) => count(store, knownWebsite(params.website, request), parseRange(query)))
    .get("/:website/time", ({ params, query, request }) => ({
      list: series(store, knownWebsite(params.website, request), parseRange(query), parseInterval(query), parseUnique(query)),
    }))
    .get("/:website/:property", ({ params, query, request }) => {
      const property = parseProperty(params.property);
      return {
        list: breakdown(store, knownWebsite(params.website, request), parseRange(query), property, parseUnique(query)),
      };
    });
}
