import { bearer } from "@elysiajs/bearer";
import { Elysia } from "elysia";
import { createHash, timingSafeEqual } from "node:crypto";
import { AppError } from "../errors";

export interface Credentials {
  /** Basic auth is on when a user is set. */
  user: string;
  password: string;
  /** Bearer auth is on when a token is set. */
  token: string;
}

/**
 * Requires credentials on every route registered after it, when any are
 * configured. A wrong user and a wrong password give the same answer, in the
 * same time.
 */
export function auth({ user, password, token }: Credentials) {
  const plugin = new Elysia({ name: "auth" });
  if (user === "" && token === "") return plugin;

  const challenge = [user !== "" && 'Basic realm="micro-analytics"', token !== "" && 'Bearer realm="micro-analytics"']
    .filter(Boolean)
    .join(", ");
  const refuse = (code: "InvalidAuthentication" | "InvalidCredentials", message: string) =>
    new AppError(code, message, { "WWW-Authenticate": challenge });

  return plugin.use(bearer()).onBeforeHandle({ as: "global" }, ({ bearer: presented, headers }) => {
    if (token !== "" && presented !== undefined) {
      if (same(presented, token)) return;
      throw refuse("InvalidCredentials", "The bearer token is wrong.");
    }
    const basic = user !== "" ? parseBasic(headers.authorization) : undefined;
    if (basic) {
      // Both comparisons always run: which one failed must not show in the timing.
      const userOk = same(basic.user, user);
      const passwordOk = same(basic.password, password);
      if (userOk && passwordOk) return;
      throw refuse("InvalidCredentials", "The user or password is wrong.");
    }
    throw refuse("InvalidAuthentication", `This service requires credentials: send an Authorization header (${challenge.replaceAll(' realm="micro-analytics"', "")}).`);
  });
}

/** Whether an Authorization header carries this basic-auth user and password (the dashboard's page asks). */
export function hasBasicCredentials(header: string | null | undefined, { user, password }: Pick<Credentials, "user" | "password">): boolean {
  const basic = parseBasic(header ?? undefined);
  if (!basic) return false;
  const userOk = same(basic.user, user);
  const passwordOk = same(basic.password, password);
  return userOk && passwordOk;
}

function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Compares digests, so neither the content nor the length of a secret leaks through timing. */
function same(presented: string, expected: string): boolean {
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}
