import { Elysia } from "elysia";
import type { ConnectionTimeouts } from "../../config/config";
import type { AddressPolicy } from "../../enrich/ip-mode";
import { AppError } from "../../errors";
import { withoutIdleTimeout } from "../../http/connection";
import { websiteParam } from "../../http/website-param";
import type { Metrics } from "../../observe/metrics";
import type { Store } from "../../store/store";
import type { QueryEngine } from "../query/engine";
import type { Eraser } from "./eraser";
import { eraseVisitor } from "./service";
import { describeVisitor } from "./visitor";

/**
 * `DELETE /:website/visitors/:ip`: a data-subject request. Every event of
 * the address (or of its hash, in the hash modes) goes from every month of
 * the website, and so do the website's cached answers; month summaries of
 * the months touched are rebuilt without it. Behind the full credentials.
 * It is a write: a website being moved to another node refuses it, and a
 * move waits for one in progress, so that the copy it leaves is erased.
 * Scanning every month takes a while, longer than a connection may stay
 * silent, so the idle timeout is lifted meanwhile, as for a query.
 */
export function erasureRoutes(store: Store, eraser: Eraser, engine: QueryEngine, addresses: AddressPolicy, metrics: Metrics, maxFieldLength: number, timeouts: ConnectionTimeouts) {
  return new Elysia({ name: "erasure" }).delete("/:website/visitors/:ip", async ({ params, request, server }) => {
    const website = websiteParam(params.website, request);
    const address = params.ip;
    if (typeof address !== "string" || address === "" || address.length > maxFieldLength) {
      throw new AppError("InvalidParameter", `visitor: give the address as it was sent, percent-encoded, in at most ${maxFieldLength} characters (--max-field-length).`);
    }
    if (!store.hasWebsite(website)) {
      throw new AppError("InvalidDatabaseName", `There is no website named "${website}"; it is created by its first event.`);
    }
    const release = store.moves.admit([website]);
    let removed: number;
    try {
      removed = await withoutIdleTimeout(request, server, timeouts, eraseVisitor(store, eraser, website, describeVisitor(address, addresses.keys())));
    } finally {
      release();
    }
    metrics.eventsErased(removed);
    await engine.forget(website);
    return { removed };
  });
}
