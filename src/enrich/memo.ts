/**
 * Wraps a pure function of a string with a bounded cache. Enrichment sees the
 * same User-Agents, addresses and referrers again and again, and each costs a
 * parse or a tree walk that a Map lookup saves.
 *
 * Two generations approximate least-recently-used eviction without moving an
 * entry on every hit: when the young generation is full it becomes the old
 * one, and what is still used gets promoted from there.
 */
export function memoize<T>(compute: (key: string) => T, capacity: number): (key: string) => T {
  const generationSize = Math.max(1, Math.floor(capacity / 2));
  let young = new Map<string, T>();
  let old = new Map<string, T>();
  return (key) => {
    const hit = young.get(key);
    if (hit !== undefined || young.has(key)) return hit as T;
    const value = old.has(key) ? (old.get(key) as T) : compute(key);
    if (young.size >= generationSize) {
      old = young;
      young = new Map();
    }
    young.set(key, value);
    return value;
  };
}
