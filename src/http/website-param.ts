import { AppError } from "../errors";
import { assertWebsiteName } from "../store/website";

/** The service's own routes: a path under `_` that is not one of them does not exist. */
const SERVICE_ROUTES = new Set(["_health", "_metrics", "_script.js", "_websites", "_dashboard"]);

/** A request's path, also for an HTTP/1.0 request whose URL has no host. */
export function pathOf(request: Request): string {
  return new URL(request.url, "http://localhost").pathname;
}

/**
 * A request's path as logs may show it: a visitor's address, erased by
 * `DELETE /:website/visitors/:ip`, must not live on in the log.
 */
export function loggedPath(request: Request): string {
  return pathOf(request).replace(/^(\/[^/]+\/visitors\/)[^/]+$/, "$1…");
}

/**
 * The `:website` segment of a URL. Paths starting with `_` belong to the
 * service (`/_health`, `/_metrics`): asked with another method they are 405,
 * and an unknown one is a missing route, not a bad website name. The router
 * gives no segment at all for a malformed percent-encoding.
 */
export function websiteParam(segment: string | undefined | null, request: Request): string {
  if (typeof segment === "string" && segment.startsWith("_")) {
    if (SERVICE_ROUTES.has(segment) && pathOf(request) === `/${segment}`) {
      throw new AppError("MethodNotAllowed", `${request.method} is not allowed here; use GET.`, { Allow: "GET" });
    }
    throw new AppError("NotFound", `There is no route ${request.method} ${pathOf(request)}.`);
  }
  const name = segment ?? pathOf(request).split("/")[1];
  assertWebsiteName(name);
  return name;
}
