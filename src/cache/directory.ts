import { join } from "node:path";
import { version } from "../../package.json";

/**
 * The cache lives under `<dir>/<major version>`: a new major version may
 * change what is cached, and never reads an older one's files.
 */
export function cacheDirectory(dir: string): string {
  return join(dir, version.split(".")[0]!);
}
