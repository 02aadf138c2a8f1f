import { Elysia } from "elysia";
import { AppError } from "../../errors";
import type { Store } from "../../store/store";
import { assertWebsiteName } from "../../store/website";
import { parseInterval, parseProperty, parseRange, parseUnique } from "./model";
import { breakdown, count, list, series } from "./service";

/**
 * The read routes. The original's `cache` parameter is accepted and ignored:
 * it never changed an answer.
 */
export function queryRoutes(store: Store) {
  const knownWebsite = (website: string): string => {
    assertWebsiteName(website);
    if (!store.hasWebsite(website)) {
      throw new AppError("InvalidDatabaseName", `There is no website named "${website}"; it is created by its first event.`);
    }
    return website;
  };

  return new Elysia({ name: "query" })
    .get("/:website", ({ params, query }) => ({
      list: list(store, knownWebsite(params.website), parseRange(query)),
    }))
    .get("/:website/count", ({ params, query }) => count(store, knownWebsite(params.website), parseRange(query)))
    .get("/:website/time", ({ params, query }) => ({
      list: series(store, knownWebsite(params.website), parseRange(query), parseInterval(query), parseUnique(query)),
    }))
    .get("/:website/:property", ({ params, query }) => {
      const property = parseProperty(params.property);
      return {
        list: breakdown(store, knownWebsite(params.website), parseRange(query), property, parseUnique(query)),
      };
    });
}
