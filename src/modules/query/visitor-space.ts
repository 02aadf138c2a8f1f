import type { SetIds } from "../../store/summary-format";

/** What a group is known by: a value of a dimension, or a bucket's start. */
export type Key = string | number;

/**
 * The events of one group in one month, and (when asked for) its visitors
 * as month ids. `size`, where given, is how many ids it holds: a group of
 * one set needs no more, so `ids` (which may be a getter that decodes them)
 * is then never read.
 */
export interface VisitorSet {
  hits: number;
  size?: number;
  readonly ids?: SetIds;
}

/**
 * One month's groups. Each visitor set holds ids of the month's own
 * visitors; `toWebsite` (the website id of each) is there when groups of
 * several months must be united (see WebsiteVisitors).
 */
export interface MonthPart {
  groups: Map<Key, { hits: number; sets: VisitorSet[] }>;
  idBound: number;
  toWebsite?: Uint32Array;
}

export function monthPart(idBound: number, toWebsite?: Uint32Array): MonthPart {
  return { groups: new Map(), idBound, toWebsite };
}

export function addSet(part: MonthPart, key: Key, set: VisitorSet): void {
  let group = part.groups.get(key);
  if (!group) part.groups.set(key, (group = { hits: 0, sets: [] }));
  group.hits += set.hits;
  if (set.size !== undefined || set.ids) group.sets.push(set);
}

/**
 * Events and exact distinct visitors of each group over all the months. A
 * group with one set has as many visitors as the set has ids; otherwise its
 * sets are united by marking each id once in an array over the id space, so
 * a year of 10 million (value, visitor) pairs costs one pass over them.
 *
 * Parts that carry `toWebsite` are united in the website's space, of
 * `websiteIds` ids; parts without must not share a group.
 */
export function combine(parts: MonthPart[], websiteIds = 0): { key: Key; total: number; unique: number }[] {
  const groups = new Map<Key, { total: number; sets: { set: VisitorSet; toWebsite?: Uint32Array }[] }>();
  for (const { groups: monthGroups, toWebsite } of parts) {
    for (const [key, { hits, sets }] of monthGroups) {
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { total: 0, sets: [] }));
      group.total += hits;
      for (const set of sets) group.sets.push({ set, toWebsite });
    }
  }

  const seen = new Uint32Array(Math.max(websiteIds, ...parts.map((part) => part.idBound)));
  let mark = 0;
  return Array.from(groups, ([key, { total, sets }]) => {
    if (sets.length <= 1) return { key, total, unique: sets[0] ? (sets[0].set.size ?? sets[0].set.ids!.length) : 0 };
    mark++;
    let unique = 0;
    for (const { set, toWebsite } of sets) unique += toWebsite ? markTranslated(seen, mark, set.ids!, toWebsite) : markOwn(seen, mark, set.ids!);
    return { key, total, unique };
  });
}

/** Marks each id not marked yet, answering how many were. */
function markOwn(seen: Uint32Array, mark: number, ids: SetIds): number {
  let added = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (seen[id] !== mark) {
      seen[id] = mark;
      added++;
    }
  }
  return added;
}

/** The same for month ids, each marked as its website id. */
function markTranslated(seen: Uint32Array, mark: number, ids: SetIds, toWebsite: Uint32Array): number {
  let added = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = toWebsite[ids[i]!]!;
    if (seen[id] !== mark) {
      seen[id] = mark;
      added++;
    }
  }
  return added;
}
