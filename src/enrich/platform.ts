import { UAParser } from "ua-parser-js";
import { memoize } from "./memo";

export type PlatformLookup = (userAgent: string) => string;

/**
 * The operating system's name for a User-Agent. A full parse costs 30–100 µs
 * and a site's visitors send few distinct agents, so answers are cached.
 */
export function createPlatformLookup(capacity = 10_000): PlatformLookup {
  return memoize((userAgent) => new UAParser(userAgent).getOS().name ?? "", capacity);
}
