import { Elysia } from "elysia";
import type { Privacy } from "../config/config";
import { AppError } from "../errors";
import { websiteParam } from "./website-param";

/** How long a browser may reuse a preflight's answer, in seconds. */
const PREFLIGHT_MAX_AGE = 86_400;

/**
 * CORS for the write routes, so a page on another origin may post events as
 * JSON, or with the ingest token: their preflights (`OPTIONS`) are answered
 * here, before auth, as browsers send them without credentials, and the
 * answers to `POST`s name the origin allowed. Reads get no CORS header: no
 * other origin's page may read the data. With `--cors-origins none` there
 * are no preflight routes and no headers, as before.
 */
export function cors(origins: Privacy["corsOrigins"]) {
  const plugin = new Elysia({ name: "cors" });
  if (origins === "none") return plugin;
  const listed = origins === "*" ? undefined : new Set(origins);
  const allow = (origin: string | null): Record<string, string> => {
    if (!listed) return { "access-control-allow-origin": "*" };
    return origin !== null && listed.has(origin) ? { "access-control-allow-origin": origin, vary: "Origin" } : { vary: "Origin" };
  };
  /** `allowed`: the methods the path takes otherwise; an OPTIONS that is no browser's preflight is refused as before. */
  const preflight =
    (allowed: string) =>
    ({ params, request, set }: { params?: { website?: string }; request: Request; set: { status?: number | string } }) => {
      if (params?.website !== undefined) websiteParam(params.website, request);
      if (!request.headers.has("access-control-request-method")) {
        throw new AppError("MethodNotAllowed", `OPTIONS is not allowed here but as a CORS preflight; use ${allowed}.`, { Allow: allowed });
      }
      // Read by the request log and metrics.
      set.status = 204;
      return new Response(null, {
        status: 204,
        headers: {
          ...allow(request.headers.get("origin")),
          "access-control-allow-methods": "POST",
          "access-control-allow-headers": "Content-Type, Authorization",
          "access-control-max-age": String(PREFLIGHT_MAX_AGE),
        },
      });
    };
  return plugin
    .onRequest(({ request, set }) => {
      if (request.method !== "POST") return;
      const origin = request.headers.get("origin");
      if (origin !== null) Object.assign(set.headers, allow(origin));
    })
    .options("/bulk", preflight("GET, POST, DELETE"))
    .options("/:website", preflight("GET, POST, DELETE"))
    .options("/:website/bulk", preflight("POST"));
}
