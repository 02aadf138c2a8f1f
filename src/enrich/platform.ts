import { UAParser } from "ua-parser-js";

export type PlatformLookup = (userAgent: string) => string;

/**
 * The operating system's name for a User-Agent. A full parse costs 30–100 µs,
 * and a site's visitors send few distinct agents, so answers are kept in a
 * bounded least-recently-used cache.
 */
export function createPlatformLookup(capacity = 10_000): PlatformLookup {
  const cache = new Map<string, string>();
  return (userAgent) => {
    let platform = cache.get(userAgent);
    if (platform !== undefined) {
      cache.delete(userAgent);
    } else {
      platform = new UAParser(userAgent).getOS().name ?? "";
      if (cache.size >= capacity) cache.delete(cache.keys().next().value!);
    }
    cache.set(userAgent, platform);
    return platform;
  };
}
