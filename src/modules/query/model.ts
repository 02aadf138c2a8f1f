import { AppError } from "../../errors";
import { DIMENSION_NAMES, DIMENSIONS, dimensionOfBreakdown, type Dimension } from "../../store/dimensions";
import type { TimeRange } from "../../store/visit";
import { MAX_TIME, parseTime } from "../../time";
import { CALENDAR_UNITS, type CalendarUnit, TimeZone } from "./calendar";
import { decodeCursor, type ExportFormat, type ExportOptions } from "./export";
import type { Filter } from "./filters";

/**
 * A request's query string, read once from its URL (the router hands over
 * only the last value of a parameter given twice). Built for one route: a
 * parameter it does not take is refused, and so is one given more than once
 * unless it may be.
 */
export class QueryParams {
  private constructor(private readonly values: Map<string, string[]>) {}

  /** `accepted`: the route's parameters; those of them that are filters may come more than once. */
  static read(request: Request, accepted: readonly string[], repeatable: readonly string[] = DIMENSION_NAMES): QueryParams {
    const values = new Map<string, string[]>();
    for (const [name, value] of new URL(request.url, "http://localhost").searchParams) {
      if (!accepted.includes(name)) {
        throw new AppError("InvalidParameter", `${JSON.stringify(name)} is not a parameter of this route; it takes ${accepted.join(", ")}.`);
      }
      const list = values.get(name);
      if (list) list.push(value);
      else values.set(name, [value]);
    }
    for (const [name, list] of values) {
      if (list.length > 1 && !repeatable.includes(name)) {
        throw new AppError("InvalidParameter", `${name}: given ${list.length} times; give it once, with a single value.`);
      }
    }
    return new QueryParams(values);
  }

  one(name: string): string | undefined {
    return this.values.get(name)?.[0];
  }

  all(name: string): string[] {
    return this.values.get(name) ?? [];
  }
}

/**
 * Every read route takes the range, the filters, and the original's `cache`
 * (answers are cached anyway, and never stale).
 */
const COMMON = ["start", "end", ...DIMENSION_NAMES, "cache"] as const;
/** The parameters of each kind of read route. */
export const ROUTE_PARAMS = {
  list: [...COMMON, "format", "limit", "cursor"],
  count: [...COMMON, "unique"],
  breakdown: [...COMMON, "unique", "limit"],
  series: [...COMMON, "unique", "interval", "tz"],
} as const;

/**
 * The filters: each dimension's parameter (`event=…`, `path=…`, …) keeps
 * the events with that value, a parameter given twice either value, and
 * several parameters must all hold. A `path` that ends with `*` is a
 * prefix: `path=/docs/*` keeps `/docs/` and everything under it.
 */
export function parseFilters(query: QueryParams): Filter[] {
  const filters: Filter[] = [];
  for (const dimension of DIMENSION_NAMES) {
    const given = query.all(dimension);
    if (given.length === 0) continue;
    const prefixes = dimension === "path" ? given.filter((value) => value.endsWith("*")).map((value) => value.slice(0, -1)) : [];
    const values = dimension === "path" ? given.filter((value) => !value.endsWith("*")) : given;
    filters.push({ dimension, values: sortedSet(values), prefixes: sortedSet(prefixes) });
  }
  return filters;
}

function sortedSet(values: string[]): string[] {
  return Array.from(new Set(values)).sort();
}

/** The dimension a breakdown route groups by (`/countries`, `/paths`, …: see dimensions.ts). */
export function parseBreakdown(segment: string): Dimension {
  const dimension = dimensionOfBreakdown(segment);
  if (dimension) return dimension;
  throw new AppError(
    "InvalidProperty",
    `"${segment}" is not something to query; use count, ${DIMENSIONS.map((d) => d.breakdown).join(", ")} or time.`,
  );
}

/** An offset's `+` left unencoded in a URL arrives as a space: `12:00:00 02:00`. */
const UNENCODED_PLUS = /(\d{2}:\d{2}:\d{2}(?:\.\d+)?) (\d{2}:\d{2})$/;

function timeParam(query: QueryParams, name: string): string | undefined {
  return query.one(name)?.replace(UNENCODED_PLUS, "$1+$2");
}

/** `start` and `end`, both optional and inclusive. */
export function parseRange(query: QueryParams): TimeRange {
  const start = timeParam(query, "start");
  const end = timeParam(query, "end");
  const range: TimeRange = {
    start: start === undefined ? undefined : parseTime(start, "start"),
    end: end === undefined ? undefined : parseTime(end, "end"),
  };
  if (range.start !== undefined && range.end !== undefined && range.end < range.start) {
    throw new AppError("InvalidTimeRange", `end (${end}) is before start (${start}).`);
  }
  return range;
}

/** `unique=true` (or `1`) adds distinct visitors to each count. */
export function parseUnique(query: QueryParams): boolean {
  const value = query.one("unique");
  if (value === undefined || value === "" || value === "false" || value === "0") return false;
  if (value === "true" || value === "1") return true;
  throw new AppError("InvalidParameter", `unique: ${JSON.stringify(value)} is not a boolean; use true or false.`);
}

/** The longest interval: one bucket from the epoch to the end of 9999, the last year a time can be written in. */
export const MAX_INTERVAL = MAX_TIME + 1;

/** How `/time` cuts time into buckets: a number of seconds from the epoch on, or a calendar unit of a time zone. */
export type Interval = { seconds: number } | { unit: CalendarUnit; zone: string };

/**
 * `interval`: a positive whole number of seconds (aligned on the epoch, one
 * day by default), or a calendar unit (hour, day, week from Monday, month,
 * year) of `tz`, an IANA time zone (UTC by default). `tz` alone means local
 * days; with a number of seconds it is refused, since such buckets ignore it.
 */
export function parseInterval(query: QueryParams): Interval {
  const value = query.one("interval");
  const tz = query.one("tz");
  const zone = tz === undefined ? "UTC" : TimeZone.named(tz).name;
  if (value === undefined && tz !== undefined) return { unit: "day", zone };
  if ((CALENDAR_UNITS as readonly string[]).includes(value ?? "")) return { unit: value as CalendarUnit, zone };
  const seconds = parseSeconds(value);
  if (tz !== undefined) {
    throw new AppError("InvalidParameter", `tz: goes with a calendar interval (${CALENDAR_UNITS.join(", ")}); buckets of a number of seconds are aligned on the Unix epoch.`);
  }
  return { seconds };
}

function parseSeconds(value: string | undefined): number {
  if (value === undefined) return 86_400;
  const seconds = /^\d{1,12}$/.test(value) ? Number(value) : 0;
  if (seconds < 1) {
    throw new AppError("InvalidInterval", `interval: ${JSON.stringify(value)} is not a positive whole number of seconds, nor one of ${CALENDAR_UNITS.join(", ")}.`);
  }
  if (seconds > MAX_INTERVAL) {
    throw new AppError(
      "InvalidInterval",
      `interval: ${value} seconds is too long; at most ${MAX_INTERVAL}, so that the first bucket (from 1970-01-01T00:00:00Z) ends by 9999-12-31T23:59:59Z.`,
    );
  }
  return seconds;
}

/** Most events in one page of `GET /:website?limit=`, and most rows of a breakdown's `limit`. */
export const MAX_PAGE = 100_000;
const FORMATS: readonly ExportFormat[] = ["json", "ndjson", "csv"];

/** `limit`, when given: at most this many events of a list, or rows of a breakdown (the first ones). */
export function parseLimit(query: QueryParams): number | undefined {
  const text = query.one("limit");
  if (text === undefined) return undefined;
  const limit = /^\d{1,6}$/.test(text) ? Number(text) : 0;
  if (limit < 1 || limit > MAX_PAGE) throw new AppError("InvalidParameter", `limit: ${JSON.stringify(text)} is not a whole number from 1 to ${MAX_PAGE}.`);
  return limit;
}

/** `format` (json, ndjson, csv), and the optional paging: `limit` and `cursor`. */
export function parseExport(query: QueryParams): ExportOptions {
  const format = query.one("format") ?? "json";
  if (!FORMATS.includes(format as ExportFormat)) {
    throw new AppError("InvalidParameter", `format: ${JSON.stringify(format)} is not one of ${FORMATS.join(", ")}.`);
  }
  const limit = parseLimit(query);
  const cursor = query.one("cursor");
  if (cursor !== undefined && limit === undefined) {
    throw new AppError("InvalidParameter", "cursor: goes with limit; pass the same limit, start and end as for the first page.");
  }
  return { format: format as ExportFormat, limit, after: cursor === undefined ? undefined : decodeCursor(cursor) };
}
