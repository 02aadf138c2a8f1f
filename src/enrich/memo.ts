/** How much a memo may hold: entries, and characters of keys (a key costs up to two bytes a character). */
export interface MemoBounds {
  entries: number;
  chars: number;
}

/**
 * Wraps a pure function of a string with a bounded cache. Enrichment sees the
 * same User-Agents, addresses and referrers again and again, and each costs a
 * parse or a tree walk that a Map lookup saves.
 *
 * Two generations approximate least-recently-used eviction without moving an
 * entry on every hit: when the young generation is full it becomes the old
 * one, and what is still used gets promoted from there. A generation is full
 * at half the entries or half the characters, so the memo's memory is bounded
 * whatever the keys' lengths; a key longer than that is never stored.
 */
export function memoize<T>(compute: (key: string) => T, bounds: MemoBounds): (key: string) => T {
  const maxEntries = Math.max(1, Math.floor(bounds.entries / 2));
  const maxChars = Math.max(1, Math.floor(bounds.chars / 2));
  let young = new Map<string, T>();
  let youngChars = 0;
  let old = new Map<string, T>();
  return (key) => {
    const hit = young.get(key);
    if (hit !== undefined || young.has(key)) return hit as T;
    const value = old.has(key) ? (old.get(key) as T) : compute(key);
    if (key.length > maxChars) return value;
    if (young.size >= maxEntries || youngChars + key.length > maxChars) {
      old = young;
      young = new Map();
      youngChars = 0;
    }
    young.set(key, value);
    youngChars += key.length;
    return value;
  };
}
