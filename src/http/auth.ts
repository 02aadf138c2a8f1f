import { Elysia } from "elysia";
import { createHash, timingSafeEqual } from "node:crypto";
import { AppError } from "../errors";
import { pathOf } from "./website-param";

export interface Credentials {
  /** Basic auth is on when a user is set; it opens every route. */
  user: string;
  password: string;
  /** A bearer token that opens every route. */
  token: string;
  /** A bearer token that opens only the POST routes, for the clients that write events. */
  ingestToken: string;
  /** The POST routes need no credentials, even when others are set. */
  openIngest: boolean;
}

/** What a request asks for: writing events (the POST routes) or anything else (reads, DELETE, /_metrics, a cluster's own routes). */
type Access = "ingest" | "full";

/** Routes between the nodes of a cluster: a POST there moves websites, which no ingest credential may do. */
const CLUSTER_ROUTES = "/_cluster/";

type Presented = { scheme: "basic"; user: string; password: string } | { scheme: "bearer"; token: string };

/** Whether any route needs credentials: when none are set, the service is open to all. */
export function authIsOn({ user, token, ingestToken }: Credentials): boolean {
  return user !== "" || token !== "" || ingestToken !== "";
}

/**
 * Requires credentials on every route registered after it, when any are set:
 * `--user`/`--password` and `--token` open every route, `--ingest-token` only
 * the POST routes, and `--ingest-auth none` leaves the POST routes open. A
 * wrong user and a wrong password give the same answer, in the same time.
 *
 * The Authorization header is parsed here rather than by @elysiajs/bearer:
 * that plugin also takes a token from the `access_token` query parameter,
 * with no way to turn it off, and tokens in URLs end up in proxy logs. Such a
 * URL is refused instead.
 */
export function auth(credentials: Credentials) {
  const plugin = new Elysia({ name: "auth" });
  if (!authIsOn(credentials)) return plugin;
  const { user, password, token, ingestToken, openIngest } = credentials;

  const challenges = (access: Access) =>
    [user !== "" && "Basic", (token !== "" || (access === "ingest" && ingestToken !== "")) && "Bearer"].filter(Boolean) as string[];
  const header = (schemes: string[]) => ({ "WWW-Authenticate": schemes.map((scheme) => `${scheme} realm="micro-analytics"`).join(", ") });
  const refusals = {
    ingest: header(challenges("ingest")),
    full: header(challenges("full")),
  };

  return plugin.onBeforeHandle({ as: "global" }, ({ request }) => {
    const internal = request.url.includes(CLUSTER_ROUTES) && pathOf(request).startsWith(CLUSTER_ROUTES);
    const access: Access = request.method === "POST" && !internal ? "ingest" : "full";
    if (access === "ingest" && openIngest) return;
    const refuse = (code: "InvalidAuthentication" | "InvalidCredentials", message: string) => new AppError(code, message, refusals[access]);

    if (request.url.includes("access_token") && new URL(request.url, "http://localhost").searchParams.has("access_token")) {
      throw new AppError(
        "InvalidParameter",
        "access_token: tokens in URLs are refused, as URLs end up in logs; send the token in the Authorization header (Authorization: Bearer <token>) and remove it from the URL.",
      );
    }

    const presented = parseAuthorization(request.headers.get("authorization"));
    if (presented?.scheme === "bearer" && (token !== "" || ingestToken !== "")) {
      // Both comparisons always run: which token matched must not show in the timing.
      const full = token !== "" && same(presented.token, token);
      const ingest = ingestToken !== "" && same(presented.token, ingestToken);
      if (full || (ingest && access === "ingest")) return;
      if (ingest) {
        throw new AppError("Forbidden", "This is the ingest token: it opens only the POST routes. Reads, DELETE and /_metrics need --token or --user/--password.");
      }
      throw refuse("InvalidCredentials", "The bearer token is wrong.");
    }
    if (presented?.scheme === "basic" && user !== "") {
      // Both comparisons always run: which one failed must not show in the timing.
      const userOk = same(presented.user, user);
      const passwordOk = same(presented.password, password);
      if (userOk && passwordOk) return;
      throw refuse("InvalidCredentials", "The user or password is wrong.");
    }
    throw refuse("InvalidAuthentication", `This service requires credentials: send an Authorization header (${challenges(access).join(" or ")}).`);
  });
}

/** Whether an Authorization header carries the basic-auth user and password (the dashboard's shell asks). */
export function hasBasicCredentials(header: string | null, { user, password }: Pick<Credentials, "user" | "password">): boolean {
  const presented = parseAuthorization(header);
  if (presented?.scheme !== "basic" || user === "") return false;
  // Both comparisons always run: which one failed must not show in the timing.
  const userOk = same(presented.user, user);
  const passwordOk = same(presented.password, password);
  return userOk && passwordOk;
}

/** `Basic <base64 user:password>` or `Bearer <token>`, the scheme in any case; anything else is no credential at all. */
function parseAuthorization(header: string | null): Presented | undefined {
  const match = /^(\S+)(?:\s+(.*))?$/.exec(header?.trim() ?? "");
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase();
  const rest = match[2] ?? "";
  if (scheme === "bearer") return { scheme, token: rest };
  if (scheme !== "basic" || !/^[A-Za-z0-9+/=]+$/.test(rest)) return undefined;
  const decoded = Buffer.from(rest, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { scheme, user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Compares digests, so neither the content nor the length of a secret leaks through timing. */
function same(presented: string, expected: string): boolean {
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}
