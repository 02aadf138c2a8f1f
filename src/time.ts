import { AppError } from "./errors";

/** Unix seconds, UTC. */
export type UnixSeconds = number;

/** Times before the Unix epoch are refused: shards are named by the UTC month of a Unix time. */
export const MIN_TIME: UnixSeconds = 0;
/** 9999-12-31T23:59:59Z, the last second a four-digit year can write. */
export const MAX_TIME: UnixSeconds = 253_402_300_799;

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
const RFC1123 =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) (?:(GMT|UTC|UT|Z)|([+-])(\d{2})(\d{2}))$/;
const UNIX = /^-?\d{1,15}$/;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

export const TIME_FORMATS_HINT =
  'use RFC 3339 ("2015-11-20T12:00:00Z"), RFC 1123 ("Fri, 20 Nov 2015 12:00:00 GMT") or Unix seconds ("1448020800")';

/**
 * Reads a time in any of the accepted forms, or throws InvalidTimeFormat
 * naming `what` (a query parameter or an event field). Never falls back to now.
 */
export function parseTime(value: unknown, what: string): UnixSeconds {
  const seconds = toSeconds(value);
  if (seconds === undefined) {
    throw new AppError("InvalidTimeFormat", `${what}: ${JSON.stringify(value)} is not a valid time; ${TIME_FORMATS_HINT}.`);
  }
  if (seconds < MIN_TIME || seconds > MAX_TIME) {
    throw new AppError(
      "InvalidTimeFormat",
      `${what}: ${JSON.stringify(value)} is out of range; times must lie between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z.`,
    );
  }
  return seconds;
}

function toSeconds(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value !== "string") return undefined;
  if (UNIX.test(value)) return Number(value);

  let m = RFC3339.exec(value);
  if (m) {
    const offset = m[7] ? 0 : offsetSeconds(m[8]!, m[9]!, m[10]!);
    return civilToSeconds(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!, offset);
  }
  m = RFC1123.exec(value);
  if (m) {
    const offset = m[7] ? 0 : offsetSeconds(m[8]!, m[9]!, m[10]!);
    return civilToSeconds(+m[3]!, MONTHS.indexOf(m[2]!) + 1, +m[1]!, +m[4]!, +m[5]!, +m[6]!, offset);
  }
  return undefined;
}

function offsetSeconds(sign: string, hours: string, minutes: string): number | undefined {
  const h = +hours;
  const m = +minutes;
  if (h > 23 || m > 59) return undefined;
  return (sign === "-" ? -1 : 1) * (h * 3600 + m * 60);
}

function civilToSeconds(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  offset: number | undefined,
): number | undefined {
  if (offset === undefined || month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 31 April over to 1 May; a date that does not exist is an error.
  if (new Date(ms).getUTCDate() !== day) return undefined;
  // Date.UTC maps years 0–99 to 1900–1999.
  if (year < 100) return undefined;
  return ms / 1000 - offset;
}

/** `2015-11-24T12:00:00Z`: RFC 3339, UTC, to the second, as the original wrote times. */
export function formatTime(seconds: UnixSeconds): string {
  return new Date(seconds * 1000).toISOString().slice(0, 19) + "Z";
}

/** The UTC month a time falls in, as its shard directory names it: `2015-11`. */
export function monthOf(seconds: UnixSeconds): string {
  return new Date(seconds * 1000).toISOString().slice(0, 7);
}
