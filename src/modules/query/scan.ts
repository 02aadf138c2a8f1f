import type { Dimension } from "../../store/dimensions";
import type { MonthColumns } from "../../store/month-columns";
import { VisitorGroups } from "../../store/visitor-sets";
import { bucketIndex } from "./calendar";
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
 * read), and each row is tested and added to its group's visitors
 * (VisitorGroups).
 */
export function scanMonth(columns: MonthColumns, scan: Scan, part: MonthPart): void {
  const { from, to, accepted, groups, unique } = scan;
  const chunks = columns.chunks(from, to);
  if (chunks.length === 0) return;
  const base = columns.base;
  const group = grouper(groups, from, to);
  const values = groups.kind === "dimension" ? columns.values(groups.dimension) : undefined;
  const count = values ? values.length : group.count;
  const grouped = new VisitorGroups(count, unique ? columns.idBound() : undefined, chunks.reduce((rows, chunk) => rows + chunk.rows, 0));
  const byTime = groups.kind === "interval" || groups.kind === "buckets";
  for (const chunk of chunks) {
    const inside = chunk.firstTime >= from && chunk.lastTime <= to;
    // Only the columns this scan needs are read; times not even that, for a chunk wholly inside the range and groups not of time.
    const time = !inside || byTime ? chunk.column("time") : undefined;
    const visitor = unique ? chunk.column("visitor") : undefined;
    const filtered = accepted.map(([dimension]) => chunk.column(dimension));
    const passes = accepted.map(([, passes]) => passes);
    const byValue = groups.kind === "dimension" ? chunk.column(groups.dimension) : undefined;
    for (let i = 0; i < chunk.rows; i++) {
      const at = time ? time[i]! + base : 0;
      if (!inside && (at < from || at > to)) continue;
      let pass = true;
      for (let f = 0; f < filtered.length && pass; f++) pass = passes[f]![filtered[f]![i]!] === 1;
      if (pass) grouped.add(byValue ? byValue[i]! : group.of(at), visitor ? visitor[i]! : 0);
    }
  }

  const sets = grouped.sets();
  for (let g = 0; g < count; g++) {
    if (sets.hits[g] === 0) continue;
    const key = values ? values[g]! : group.key(g);
    const { size, ids } = sets;
    if (!ids) addSet(part, key, { hits: sets.hits[g]! });
    else if (!size) addSet(part, key, { hits: sets.hits[g]!, ids: ids(g) });
    // A group only this month holds needs its size alone: its ids are made if another month's set joins it.
    else addSet(part, key, { hits: sets.hits[g]!, size: size(g), get ids() { return ids(g); } });
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
          return (last = bucketIndex(starts, time));
        },
        count: starts.length,
        key: (group) => starts[group]!,
      };
    }
  }
}
