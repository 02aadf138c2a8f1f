import { Elysia } from "elysia";
import { textResponse } from "../../http/answer";
import { TRACKER_SCRIPT } from "./script";

/** `GET /_script.js`, never behind auth: a page's visitors fetch it without credentials. */
export function trackerRoute() {
  return new Elysia({ name: "tracker" }).get("/_script.js", () =>
    textResponse(TRACKER_SCRIPT, {
      "content-type": "text/javascript;charset=utf-8",
      "cache-control": "public, max-age=86400",
      "x-content-type-options": "nosniff",
    }),
  );
}
