/**
 * Calendar arithmetic in the viewer's time zone, with nothing but Intl: local
 * midnights, Mondays and first days of months as UTC seconds, daylight saving
 * included. Everything here is in whole seconds, as the API is.
 */

export const INTERVALS = ["hour", "day", "week", "month", "year"] as const;
export type Interval = (typeof INTERVALS)[number];

export interface LocalTime {
  year: number;
  /** 1–12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const HOUR = 3600;
const DAY = 86_400;

const formatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(tz: string): Intl.DateTimeFormat {
  let formatter = formatters.get(tz);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(tz, formatter);
  }
  return formatter;
}

/** Whether the browser knows this IANA zone. */
export function isTimeZone(tz: string): boolean {
  try {
    partsFormatter(tz);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock time in `tz` at a UTC second. */
export function localTime(seconds: number, tz: string): LocalTime {
  const fields: Record<string, number> = {};
  for (const part of partsFormatter(tz).formatToParts(seconds * 1000)) {
    if (part.type !== "literal") fields[part.type] = Number(part.value);
  }
  return {
    year: fields.year!,
    month: fields.month!,
    day: fields.day!,
    hour: fields.hour! % 24,
    minute: fields.minute!,
    second: fields.second!,
  };
}

const asUtc = (t: LocalTime) => Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second) / 1000;

/** Seconds `tz` is ahead of UTC at a UTC second. */
export function offsetAt(seconds: number, tz: string): number {
  return asUtc(localTime(seconds, tz)) - seconds;
}

/**
 * The UTC second at which the wall clock in `tz` shows `time`. Fields out of
 * range roll over (day 32 is the next month's first). A time that occurs
 * twice (the hour repeated in autumn) gives the first; one that never occurs
 * (skipped in spring) is read with the offset from before the jump, which is
 * where a day whose midnight is skipped begins.
 */
export function fromLocal(time: LocalTime, tz: string): number {
  const wall = asUtc(time);
  const candidates = [wall - offsetAt(wall - DAY, tz), wall - offsetAt(wall + DAY, tz)];
  const exact = candidates.filter((t) => asUtc(localTime(t, tz)) === wall);
  return exact.length > 0 ? Math.min(...exact) : candidates[0]!;
}

/** The start of the interval (in `tz`) that holds `seconds`; weeks start on Monday. */
export function startOf(interval: Interval, seconds: number, tz: string): number {
  if (interval === "hour") {
    // Hours start where the local clock shows :00, also in zones half an hour off UTC.
    const local = seconds + offsetAt(seconds, tz);
    return seconds - (((local % HOUR) + HOUR) % HOUR);
  }
  const t = localTime(seconds, tz);
  const midnight = { ...t, hour: 0, minute: 0, second: 0 };
  switch (interval) {
    case "day":
      return fromLocal(midnight, tz);
    case "week": {
      const weekday = new Date(Date.UTC(t.year, t.month - 1, t.day)).getUTCDay();
      return fromLocal({ ...midnight, day: t.day - ((weekday + 6) % 7) }, tz);
    }
    case "month":
      return fromLocal({ ...midnight, day: 1 }, tz);
    case "year":
      return fromLocal({ ...midnight, month: 1, day: 1 }, tz);
  }
}

/** `start` (the start of an interval) moved by `count` intervals. */
export function add(interval: Interval, start: number, count: number, tz: string): number {
  if (interval === "hour") return start + count * HOUR;
  const t = localTime(start, tz);
  const at = { ...t, hour: 0, minute: 0, second: 0 };
  if (interval === "day") at.day += count;
  else if (interval === "week") at.day += 7 * count;
  else if (interval === "month") at.month += count;
  else at.year += count;
  return fromLocal(at, tz);
}

/** The starts of every interval from the one holding `start` to the one holding `end`. */
export function bucketStarts(interval: Interval, start: number, end: number, tz: string): number[] {
  const starts: number[] = [];
  for (let t = startOf(interval, start, tz); t <= end; t = add(interval, t, 1, tz)) starts.push(t);
  return starts;
}

/** The interval that gives a readable chart for a span: hours for a day or two, days up to a quarter, then weeks, then months. */
export function intervalFor(spanSeconds: number): Interval {
  if (spanSeconds <= 2 * DAY + HOUR) return "hour";
  if (spanSeconds <= 93 * DAY) return "day";
  if (spanSeconds <= 400 * DAY) return "week";
  return "month";
}

/** Most buckets the interval menu offers: beyond that a chart is a smear. */
export const MAX_BUCKETS = 1500;

/** The intervals worth offering for a span: at most MAX_BUCKETS buckets, at least two (year always). */
export function intervalsFor(spanSeconds: number): Interval[] {
  const length: Record<Interval, number> = { hour: HOUR, day: DAY, week: 7 * DAY, month: 30 * DAY, year: 365 * DAY };
  return INTERVALS.filter((i) => i === "year" || (spanSeconds / length[i] <= MAX_BUCKETS && spanSeconds / length[i] >= 1));
}

/** `YYYY-MM-DD` of the local day holding `seconds`. */
export function localDate(seconds: number, tz: string): string {
  const t = localTime(seconds, tz);
  return `${String(t.year).padStart(4, "0")}-${String(t.month).padStart(2, "0")}-${String(t.day).padStart(2, "0")}`;
}

/** The local midnight starting a `YYYY-MM-DD` day, or undefined for anything else. */
export function parseLocalDate(text: string, tz: string, dayOffset = 0): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return undefined;
  return fromLocal({ year, month, day: day + dayOffset, hour: 0, minute: 0, second: 0 }, tz);
}

/** RFC 3339 UTC to the second, as the API writes times. */
export function isoSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}
