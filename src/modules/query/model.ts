import { AppError } from "../../errors";
import type { TimeRange } from "../../store/visit";
import { MAX_TIME, parseTime } from "../../time";
import { decodeCursor, type ExportFormat, type ExportOptions } from "./export";

/**
 * A request's query string, read once from its URL (the router hands over
 * only the last value of a parameter given twice). Built for one route: a
 * parameter it does not take is refused, and so is one given more than once
 * unless it may be.
 */
export class QueryParams {
  private constructor(private readonly values: Map<string, string[]>) {}

  /** `accepted`: the route's parameters; `repeatable`: those of them that may come more than once. */
  static read(request: Request, accepted: readonly string[], repeatable: readonly string[] = []): QueryParams {
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

/** Every read route takes the range, and the original's `cache` (answers are cached anyway, and never stale). */
const RANGE = ["start", "end", "cache"] as const;
/** The parameters of each kind of read route. */
export const ROUTE_PARAMS = {
  list: [...RANGE, "format", "limit", "cursor"],
  count: [...RANGE, "unique"],
  breakdown: [...RANGE, "unique"],
  series: [...RANGE, "unique", "interval"],
} as const;

/**
 * What a breakdown can group by, by the path segment that names it: the
 * number of its grouping in the month summaries (see SUMMARY_DIMENSIONS).
 */
export const PROPERTIES = {
  countries: 1,
  platforms: 2,
  domains: 3,
  events: 4,
} as const;

export type Property = keyof typeof PROPERTIES;

export function parseProperty(segment: string): Property {
  if (Object.hasOwn(PROPERTIES, segment)) return segment as Property;
  throw new AppError(
    "InvalidProperty",
    `"${segment}" is not something to query; use count, countries, platforms, domains, events or time.`,
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

/** `interval`: a positive whole number of seconds, one day by default. */
export function parseInterval(query: QueryParams): number {
  const value = query.one("interval");
  if (value === undefined) return 86_400;
  const seconds = /^\d{1,12}$/.test(value) ? Number(value) : 0;
  if (seconds < 1) {
    throw new AppError("InvalidInterval", `interval: ${JSON.stringify(value)} is not a positive whole number of seconds.`);
  }
  if (seconds > MAX_INTERVAL) {
    throw new AppError(
      "InvalidInterval",
      `interval: ${value} seconds is too long; at most ${MAX_INTERVAL}, so that the first bucket (from 1970-01-01T00:00:00Z) ends by 9999-12-31T23:59:59Z.`,
    );
  }
  return seconds;
}

/** Most events in one page of `GET /:website?limit=`. */
export const MAX_PAGE = 100_000;
const FORMATS: readonly ExportFormat[] = ["json", "ndjson", "csv"];

/** `format` (json, ndjson, csv), and the optional paging: `limit` and `cursor`. */
export function parseExport(query: QueryParams): ExportOptions {
  const format = query.one("format") ?? "json";
  if (!FORMATS.includes(format as ExportFormat)) {
    throw new AppError("InvalidParameter", `format: ${JSON.stringify(format)} is not one of ${FORMATS.join(", ")}.`);
  }
  const limitText = query.one("limit");
  const limit = limitText === undefined ? undefined : /^\d{1,6}$/.test(limitText) ? Number(limitText) : 0;
  if (limit !== undefined && (limit < 1 || limit > MAX_PAGE)) {
    throw new AppError("InvalidParameter", `limit: ${JSON.stringify(limitText)} is not a whole number from 1 to ${MAX_PAGE}.`);
  }
  const cursor = query.one("cursor");
  if (cursor !== undefined && limit === undefined) {
    throw new AppError("InvalidParameter", "cursor: goes with limit; pass the same limit, start and end as for the first page.");
  }
  return { format: format as ExportFormat, limit, after: cursor === undefined ? undefined : decodeCursor(cursor) };
}
