import type { Interval } from "./time";

const numbers = new Intl.NumberFormat("en-US");
const percents = new Intl.NumberFormat("en-US", { style: "percent", maximumFractionDigits: 1, signDisplay: "exceptZero" });

/** Counts are shown whole, with thousands separators: every digit is the API's. */
export const count = (n: number): string => numbers.format(n);

/** The change from `before` to `now`, or undefined when there was nothing before. */
export function change(now: number, before: number): string | undefined {
  if (before === 0) return undefined;
  return percents.format((now - before) / before);
}

export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();

function dateFormat(tz: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${tz} ${JSON.stringify(options)}`;
  let format = dateFormats.get(key);
  if (!format) dateFormats.set(key, (format = new Intl.DateTimeFormat("en-US", { timeZone: tz, ...options })));
  return format;
}

const BUCKET_FORMATS: Record<Interval, Intl.DateTimeFormatOptions> = {
  hour: { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" },
  day: { weekday: "short", year: "numeric", month: "short", day: "numeric" },
  week: { year: "numeric", month: "short", day: "numeric" },
  month: { year: "numeric", month: "long" },
  year: { year: "numeric" },
};

/** A bucket's name in the viewer's zone: "Mar 30, 14:00", "Sun, Mar 30, 2025", "Week of …", "March 2025". */
export function bucketLabel(seconds: number, interval: Interval, tz: string): string {
  const text = dateFormat(tz, BUCKET_FORMATS[interval]).format(seconds * 1000);
  return interval === "week" ? `Week of ${text}` : text;
}

/** A moment, to the minute, in the viewer's zone. */
export function moment(seconds: number, tz: string): string {
  return dateFormat(tz, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(
    seconds * 1000,
  );
}
