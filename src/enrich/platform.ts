import { UAParser } from "ua-parser-js";
import { memoize } from "./memo";

export type PlatformLookup = (userAgent: string) => string;

/**
 * The operating system's name for a User-Agent. A full parse costs 30–100 µs
 * and a site's visitors send few distinct agents, so answers are cached:
 * 10,000 agents, or 4 million characters of them (about 8 MB at worst).
 */
export function createPlatformLookup(bounds = { entries: 10_000, chars: 4_000_000 }): PlatformLookup {
  return memoize((userAgent) => new UAParser(userAgent).getOS().name ?? "", bounds);
}
