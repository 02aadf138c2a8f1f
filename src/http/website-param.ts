import { AppError } from "../errors";
import { assertWebsiteName } from "../store/website";

/**
 * The `:website` segment of a URL. Paths starting with `_` belong to the
 * service (`/_health`, `/_metrics`), so an unknown one is a missing route,
 * not a bad website name.
 */
export function websiteParam(segment: string, request: Request): string {
  if (segment.startsWith("_")) {
    throw new AppError("NotFound", `There is no route ${request.method} ${new URL(request.url).pathname}.`);
  }
  assertWebsiteName(segment);
  return segment;
}
