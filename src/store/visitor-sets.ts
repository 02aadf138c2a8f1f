/** Ids of a month's visitors (or of values), narrow where they fit. */
export type IdArray = Uint8Array | Uint16Array | Uint32Array;

/** What each group of rows holds: its events, and when asked for, its distinct visitors as month ids. */
export interface GroupSets {
  hits: Uint32Array;
  /** A group's visitors, each once (in no particular order); empty for a group without rows. */
  ids?: (group: number) => Uint32Array;
  /** How many they are, without making the array where that is cheaper. */
  size?: (group: number) => number;
}

/** Past this many bits (groups × ids), rows are sorted by group instead: 8 MB. */
const MAX_BITMAP_BITS = 1 << 26;

/**
 * The one way visitor sets are made from rows, for summaries and queries
 * alike: each row is added with its group (below `groups`) and its visitor
 * (below `idBound`; with no `idBound`, only the events are counted).
 *
 * Where a bitmap of every group's visitors fits in 8 MB (a month's 50,000
 * visitors by its 1,000 paths, or by local day), each row sets its bit, and
 * the sets are read from the bitmap: one pass over the rows, with nothing
 * kept of them. Otherwise the rows are kept, put in order of group (a
 * counting sort), and each group's visitors stamped once in an array over
 * the ids: two passes, and memory for two ids a row.
 */
export class VisitorGroups {
  readonly hits: Uint32Array;
  /** Words of `bits` a group takes. */
  private readonly words: number;
  private readonly bits: Int32Array | undefined;
  private groupOf: Uint32Array | undefined;
  private visitorOf: Uint32Array | undefined;
  private rows = 0;

  constructor(
    private readonly groups: number,
    private readonly idBound: number | undefined,
    /** About how many rows will be added (the arrays grow past it). */
    rows = 1024,
  ) {
    this.hits = new Uint32Array(groups);
    this.words = idBound === undefined ? 0 : (idBound + 31) >>> 5;
    if (idBound === undefined) return;
    if (groups * this.words * 32 <= MAX_BITMAP_BITS) this.bits = new Int32Array(groups * this.words);
    else {
      this.groupOf = new Uint32Array(Math.max(rows, 16));
      this.visitorOf = new Uint32Array(Math.max(rows, 16));
    }
  }

  add(group: number, visitor: number): void {
    this.hits[group]!++;
    if (this.bits) this.bits[group * this.words + (visitor >>> 5)]! |= 1 << (visitor & 31);
    else if (this.groupOf) {
      if (this.rows === this.groupOf.length) this.grow();
      this.groupOf[this.rows] = group;
      this.visitorOf![this.rows++] = visitor;
    }
  }

  sets(): GroupSets {
    if (this.idBound === undefined) return { hits: this.hits };
    return this.bits ? this.fromBits(this.bits) : this.sorted(this.groupOf!.subarray(0, this.rows), this.visitorOf!.subarray(0, this.rows));
  }

  private fromBits(bits: Int32Array): GroupSets {
    const { words } = this;
    const size = (group: number) => {
      let count = 0;
      for (let w = group * words; w < (group + 1) * words; w++) count += bitCount(bits[w]!);
      return count;
    };
    return {
      hits: this.hits,
      size,
      ids: (group) => {
        const ids = new Uint32Array(size(group));
        let n = 0;
        for (let w = 0; w < words; w++) {
          for (let word = bits[group * words + w]!; word !== 0; word &= word - 1) ids[n++] = (w << 5) | (31 - Math.clz32(word & -word));
        }
        return ids;
      },
    };
  }

  private sorted(groupOf: Uint32Array, visitorOf: Uint32Array): GroupSets {
    const { groups, hits } = this;
    const rows = groupOf.length;
    const starts = new Uint32Array(groups + 1);
    for (let g = 0; g < groups; g++) starts[g + 1] = starts[g]! + hits[g]!;
    const next = starts.slice(0, groups);
    const ordered = new Uint32Array(rows);
    for (let i = 0; i < rows; i++) ordered[next[groupOf[i]!]!++] = visitorOf[i]!;

    const stamp = new Uint32Array(this.idBound!);
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

  private grow(): void {
    const groupOf = new Uint32Array(this.groupOf!.length * 2);
    groupOf.set(this.groupOf!);
    this.groupOf = groupOf;
    const visitorOf = new Uint32Array(this.visitorOf!.length * 2);
    visitorOf.set(this.visitorOf!);
    this.visitorOf = visitorOf;
  }
}

/** The bits set in a 32-bit word (a SWAR count: a few operations, whatever the bits). */
function bitCount(word: number): number {
  word -= (word >>> 1) & 0x55555555;
  word = (word & 0x33333333) + ((word >>> 2) & 0x33333333);
  return (Math.imul((word + (word >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** The sets of rows given as arrays: row i is in group `groupOf[i]` and was made by `visitorOf[i]` (see VisitorGroups). */
export function groupVisitors(groupOf: Uint32Array, visitorOf: Uint32Array | undefined, groups: number, idBound: number): GroupSets {
  const grouped = new VisitorGroups(groups, visitorOf ? idBound : undefined, groupOf.length);
  for (let i = 0; i < groupOf.length; i++) grouped.add(groupOf[i]!, visitorOf ? visitorOf[i]! : 0);
  return grouped.sets();
}

/** The narrowest array for ids below `bound`. */
export function idArray(length: number, bound: number): IdArray {
  if (bound <= 0x100) return new Uint8Array(length);
  if (bound <= 0x10000) return new Uint16Array(length);
  return new Uint32Array(length);
}
