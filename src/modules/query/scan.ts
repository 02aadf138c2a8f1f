import type { Dimension } from "../../store/dimensions";
import type { ColumnName, MonthColumns } from "../../store/month-columns";
import { groupVisitors, type IdArray } from "../../store/visitor-sets";
import { addSet, type MonthPart } from "./visitor-space";

/** How the rows a scan keeps are grouped, and what each group is known by. */
export type ScanGroups =
  /** One group, "": `/count`. */
  | { kind: "all" }
  /** By the values of a dimension, known by the value. */
  | { kind: "dimension"; dimension: Dimension }
  /** Buckets of `seconds` aligned on the epoch, known by their start. */
  | { kind: "interval"; seconds: number }
  /** Buckets that start at each of `starts` (ascending; a row goes to the last one at or before it). */
  | { kind: "buckets"; starts: readonly number[] };

export interface Scan {
  /** The rows kept lie from `from` to `to`, inclusive. */
  from: number;
  to: number;
  /** Each filtered dimension, and for each id of its values whether it passes. */
  accepted: [Dimension, Uint8Array][];
  groups: ScanGroups;
  unique: boolean;
}

/**
 * Adds to `part` the groups of a month's rows that `scan` keeps: the rows'
 * columns are read a chunk at a time (chunks outside the range are not
 * read), each row is tested and given its group, and the groups' visitor
 * sets are made in one go (groupVisitors).
 */
export function scanMonth(columns: MonthColumns, scan: Scan, part: MonthPart): void {
  const { from, to, accepted, groups, unique } = scan;
  const names = new Set<ColumnName>(["time", ...accepted.map(([dimension]) => dimension)]);
  if (unique) names.add("visitor");
  if (groups.kind === "dimension") names.add(groups.dimension);

  const kept = new GrowingPairs();
  const base = columns.base;
  const group = grouper(groups, from, to);
  for (const chunk of columns.chunks([...names], from, to)) {
    const time = chunk.columns.time!;
    const visitor = chunk.columns.visitor;
    const filters = accepted.map(([dimension, passes]) => [chunk.columns[dimension]!, passes] as const);
    const byValue = groups.kind === "dimension" ? chunk.columns[groups.dimension]! : undefined;
    const inside = chunk.firstTime >= from && chunk.lastTime <= to;
    rows: for (let i = 0; i < chunk.rows; i++) {
      const at = time[i]! + base;
      if (!inside && (at < from || at > to)) continue;
      for (const [values, passes] of filters) if (passes[values[i]!] === 0) continue rows;
      kept.push(byValue ? byValue[i]! : group.of(at), visitor ? visitor[i]! : 0);
    }
  }
  if (kept.length === 0) return;

  const values = groups.kind === "dimension" ? columns.values(groups.dimension) : undefined;
  const count = values ? values.length : group.count;
  const sets = groupVisitors(kept.groups(), unique ? kept.visitors() : undefined, count, columns.idBound());
  for (let g = 0; g < count; g++) {
    if (sets.hits[g] === 0) continue;
    addSet(part, values ? values[g]! : group.key(g), { hits: sets.hits[g]!, ids: sets.ids?.(g) });
  }
}

/** A row's group by its time (or the one group), dense from 0, and the key of each. */
function grouper(groups: ScanGroups, from: number, to: number): { of(time: number): number; count: number; key(group: number): string | number } {
  switch (groups.kind) {
    case "all":
    case "dimension":
      return { of: () => 0, count: 1, key: () => "" };
    case "interval": {
      const { seconds } = groups;
      const first = Math.floor(from / seconds);
      return { of: (time) => Math.floor(time / seconds) - first, count: Math.floor(to / seconds) - first + 1, key: (group) => (first + group) * seconds };
    }
    case "buckets": {
      const { starts } = groups;
      // Rows mostly come in time order: the bucket of the row before is tried first.
      let last = 0;
      return {
        of(time) {
          if (time >= starts[last]! && (last + 1 >= starts.length || time < starts[last + 1]!)) return last;
          let low = 0;
          let high = starts.length - 1;
          while (low < high) {
            const middle = (low + high + 1) >> 1;
            if (starts[middle]! <= time) low = middle;
            else high = middle - 1;
          }
          return (last = low);
        },
        count: starts.length,
        key: (group) => starts[group]!,
      };
    }
  }
}

/** (group, visitor) pairs of the rows kept, in arrays that double as they fill. */
class GrowingPairs {
  length = 0;
  private groupOf: Uint32Array = new Uint32Array(1024);
  private visitorOf: Uint32Array = new Uint32Array(1024);

  push(group: number, visitor: number): void {
    if (this.length === this.groupOf.length) {
      this.groupOf = grown(this.groupOf);
      this.visitorOf = grown(this.visitorOf);
    }
    this.groupOf[this.length] = group;
    this.visitorOf[this.length++] = visitor;
  }

  groups(): Uint32Array {
    return this.groupOf.subarray(0, this.length);
  }

  visitors(): IdArray {
    return this.visitorOf.subarray(0, this.length);
  }
}

function grown(array: Uint32Array): Uint32Array {
  const bigger = new Uint32Array(array.length * 2);
  bigger.set(array);
  return bigger;
}
