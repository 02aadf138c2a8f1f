/**
 * Wraps a pure function of a string with a bounded least-recently-used cache.
 * Enrichment sees the same User-Agents, addresses and referrers again and
 * again, and each costs a parse or a tree walk that a Map lookup saves.
 */
export function memoize<T>(compute: (key: string) => T, capacity: number): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    let value = cache.get(key);
    if (value !== undefined || cache.has(key)) {
      cache.delete(key);
    } else {
      value = compute(key);
      if (cache.size >= capacity) cache.delete(cache.keys().next().value!);
    }
    cache.set(key, value as T);
    return value as T;
  };
}
