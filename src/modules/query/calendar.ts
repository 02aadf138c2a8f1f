import { AppError } from "../../errors";

/** The calendar intervals of `/time`: buckets that start at a local hour, midnight, Monday, first of a month or of a year. */
export const CALENDAR_UNITS = ["hour", "day", "week", "month", "year"] as const;
export type CalendarUnit = (typeof CALENDAR_UNITS)[number];

const HOUR = 3600;
const DAY = 86_400;
/** Offsets are probed this often; a zone changes its offset far less often than that. */
const PROBE = 3 * HOUR;
/** The span of time whose changes of offset are found at once. */
const BLOCK = 31 * DAY;
/** 1970-01-05, a Monday, as days since the epoch. */
const FIRST_MONDAY = 4;

/**
 * An IANA time zone (as the runtime's ICU knows it), and its offset from
 * UTC at any instant. Offsets come from Intl, which is slow by the call, so
 * the changes of offset in each month or so are found once (probing every
 * few hours, then to the second) and kept.
 */
export class TimeZone {
  private static readonly known = new Map<string, TimeZone>();
  /** The changes of offset in each block of time, by the block's number. */
  private readonly blocks = new Map<number, { starts: number[]; offsets: number[] }>();

  private constructor(
    readonly name: string,
    private readonly format: Intl.DateTimeFormat,
  ) {}

  /** The zone named, or a 400 InvalidTimeZone. */
  static named(name: string): TimeZone {
    const known = TimeZone.known.get(name);
    if (known) return known;
    let format: Intl.DateTimeFormat;
    try {
      format = new Intl.DateTimeFormat("en-US", {
        timeZone: name,
        hourCycle: "h23",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
      });
    } catch {
      throw new AppError("InvalidTimeZone", `tz: ${JSON.stringify(name)} is not a time zone this service knows; use an IANA name such as Europe/Paris or America/New_York.`);
    }
    // Kept by the name ICU gives it (`europe/paris` is Europe/Paris), so however it is spelt there is one of each.
    const canonical = format.resolvedOptions().timeZone;
    let zone = TimeZone.known.get(canonical);
    if (!zone) TimeZone.known.set(canonical, (zone = new TimeZone(canonical, format)));
    return zone;
  }

  /** Seconds to add to a UTC time to get the local wall-clock time, at `time`. */
  offsetAt(time: number): number {
    const index = Math.floor(time / BLOCK);
    let block = this.blocks.get(index);
    if (!block) this.blocks.set(index, (block = this.changes(index * BLOCK, (index + 1) * BLOCK)));
    const { starts, offsets } = block;
    let i = starts.length - 1;
    while (i > 0 && starts[i]! > time) i--;
    return offsets[i]!;
  }

  /** The offsets from `from` (inclusive) to `to`, each with the instant it starts from. */
  private changes(from: number, to: number): { starts: number[]; offsets: number[] } {
    const starts = [from];
    const offsets = [this.probe(from)];
    for (let at = from + PROBE; at < to + PROBE; at += PROBE) {
      const offset = this.probe(at);
      if (offset === offsets[offsets.length - 1]) continue;
      // The change lies in (at - PROBE, at]: find its first second.
      let low = at - PROBE;
      let high = at;
      while (high - low > 1) {
        const middle = Math.floor((low + high) / 2);
        if (this.probe(middle) === offsets[offsets.length - 1]) low = middle;
        else high = middle;
      }
      starts.push(high);
      offsets.push(offset);
    }
    return { starts, offsets };
  }

  private probe(time: number): number {
    const parts = /^(\d\d)\/(\d\d)\/(\d+), (\d\d):(\d\d):(\d\d)$/.exec(this.format.format(time * 1000))!;
    const wall = Date.UTC(+parts[3]!, +parts[1]! - 1, +parts[2]!, +parts[4]!, +parts[5]!, +parts[6]!) / 1000;
    return wall - time;
  }
}

/**
 * The starts of the `unit` buckets of `zone` that hold `from` to `to`, in
 * order, and last the start of the bucket after them (the end of the last).
 *
 * A bucket is a run of instants whose local calendar hour (day, week, month,
 * year) is the same: so a day starts at local midnight and lasts 23 or 25
 * hours when the clocks change in it, and an hour repeated when they go back
 * is one bucket of two hours. A local midnight that does not exist (a zone
 * that changes its clocks at midnight) gives way to the first instant after.
 */
export function bucketStarts(unit: CalendarUnit, zone: TimeZone, from: number, to: number): number[] {
  const starts = [startOf(unit, zone, from)];
  for (let start = starts[0]!; start <= to; ) {
    const next = firstInstantAt(zone, nextWall(unit, truncate(unit, start + zone.offsetAt(start))));
    if (next <= start) throw new Error(`${zone.name}: no ${unit} starts after ${start}`);
    starts.push((start = next));
  }
  return starts;
}

/** The start of the bucket that holds `time`. */
function startOf(unit: CalendarUnit, zone: TimeZone, time: number): number {
  const start = firstInstantAt(zone, truncate(unit, time + zone.offsetAt(time)));
  return Math.min(start, time);
}

/** The first instant whose local wall-clock time is `wall` or later (`wall` in seconds, as if it were UTC). */
function firstInstantAt(zone: TimeZone, wall: number): number {
  const before = zone.offsetAt(wall - DAY);
  const after = zone.offsetAt(wall + DAY);
  const valid = [wall - before, wall - after].filter((time) => time + zone.offsetAt(time) === wall);
  if (valid.length > 0) return Math.min(...valid);
  // A gap: the clocks jumped over `wall`; the first instant after it is the change itself.
  let low = Math.min(wall - before, wall - after);
  let high = Math.max(wall - before, wall - after);
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (middle + zone.offsetAt(middle) >= wall) high = middle;
    else low = middle;
  }
  return high;
}

/** The start of the unit that holds the wall-clock time `wall`, as wall-clock seconds. */
function truncate(unit: CalendarUnit, wall: number): number {
  const day = Math.floor(wall / DAY);
  switch (unit) {
    case "hour":
      return wall - (((wall % HOUR) + HOUR) % HOUR);
    case "day":
      return day * DAY;
    case "week":
      return (day - ((((day - FIRST_MONDAY) % 7) + 7) % 7)) * DAY;
    case "month": {
      const date = new Date(wall * 1000);
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1) / 1000;
    }
    case "year":
      return Date.UTC(new Date(wall * 1000).getUTCFullYear(), 0, 1) / 1000;
  }
}

/** The start of the unit after the one that starts at `wall`. */
function nextWall(unit: CalendarUnit, wall: number): number {
  const date = new Date(wall * 1000);
  switch (unit) {
    case "hour":
      return wall + HOUR;
    case "day":
      return wall + DAY;
    case "week":
      return wall + 7 * DAY;
    case "month":
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) / 1000;
    case "year":
      return Date.UTC(date.getUTCFullYear() + 1, 0, 1) / 1000;
  }
}

/** The index of the bucket that holds `time`: the last of `starts` (ascending) at or before it, else 0. */
export function bucketIndex(starts: readonly number[], time: number): number {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (starts[middle]! <= time) low = middle;
    else high = middle - 1;
  }
  return low;
}
