/** Ids of a month's visitors (or of values), narrow where they fit. */
export type IdArray = Uint8Array | Uint16Array | Uint32Array;

/** What each group of rows holds: its events, and when asked for, its distinct visitors as month ids. */
export interface GroupSets {
  hits: Uint32Array;
  /** A group's visitors, each once; empty for a group without rows. */
  ids?: (group: number) => Uint32Array;
}

/**
 * The one way visitor sets are made from rows, for summaries and queries
 * alike. Row i belongs to group `groupOf[i]` (below `groups`) and was made
 * by visitor `visitorOf[i]` (below `idBound`); without `visitorOf` only the
 * events are counted.
 *
 * The rows are put in order of group first (a counting sort), then each
 * group's visitors are kept once each by stamping them in an array over the
 * id space: two passes over the rows, whatever the number of groups, and
 * memory for two ids a row.
 */
export function groupVisitors(groupOf: Uint32Array, visitorOf: Uint32Array | undefined, groups: number, idBound: number): GroupSets {
  const rows = groupOf.length;
  const hits = new Uint32Array(groups);
  for (let i = 0; i < rows; i++) hits[groupOf[i]!]!++;
  if (!visitorOf) return { hits };

  const starts = new Uint32Array(groups + 1);
  for (let g = 0; g < groups; g++) starts[g + 1] = starts[g]! + hits[g]!;
  const next = starts.slice(0, groups);
  const ordered = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) ordered[next[groupOf[i]!]!++] = visitorOf[i]!;

  const stamp = new Uint32Array(idBound);
  // Kept in place: each group's distinct visitors move to the front of its slice, which then ends at `ends[g]`.
  const ends = next;
  for (let g = 0; g < groups; g++) {
    let kept = starts[g]!;
    for (let i = kept; i < starts[g + 1]!; i++) {
      const visitor = ordered[i]!;
      if (stamp[visitor] !== g + 1) {
        stamp[visitor] = g + 1;
        ordered[kept++] = visitor;
      }
    }
    ends[g] = kept;
  }
  return { hits, ids: (group) => ordered.subarray(starts[group]!, ends[group]!) };
}

/** The narrowest array for ids below `bound`. */
export function idArray(length: number, bound: number): IdArray {
  if (bound <= 0x100) return new Uint8Array(length);
  if (bound <= 0x10000) return new Uint16Array(length);
  return new Uint32Array(length);
}
