import { Elysia } from "elysia";
import { AppError } from "../errors";

/**
 * Elysia looks for the start of a request's path from the twelfth character
 * of its URL on, which assumes a host of at least four characters after
 * `http://`. With a shorter Host header (or none, in HTTP/1.0, where the URL
 * has no host at all) `/ab/victim` would be routed as `/victim`. Such
 * requests are refused before any route sees them.
 */
export const hostGuard = new Elysia({ name: "host-guard" }).onRequest(({ request }) => {
  const url = request.url;
  const scheme = url.indexOf("://");
  const pathStart = scheme === -1 ? 0 : url.indexOf("/", scheme + 3);
  if (pathStart !== url.indexOf("/", 11)) {
    throw new AppError("InvalidRequest", "Send a Host header of at least four characters, such as the server's name and port.");
  }
});
