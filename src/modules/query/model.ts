import { AppError } from "../../errors";
import type { TimeRange } from "../../store/visit";
import { parseTime } from "../../time";
import { decodeCursor, type ExportFormat, type ExportOptions } from "./export";

type Query = Record<string, unknown>;

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

function timeParam(query: Query, name: string): string | undefined {
  return param(query, name)?.replace(UNENCODED_PLUS, "$1+$2");
}

/** `start` and `end`, both optional and inclusive. */
export function parseRange(query: Query): TimeRange {
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
export function parseUnique(query: Query): boolean {
  const value = param(query, "unique");
  if (value === undefined || value === "" || value === "false" || value === "0") return false;
  if (value === "true" || value === "1") return true;
  throw new AppError("InvalidParameter", `unique: ${JSON.stringify(value)} is not a boolean; use true or false.`);
}

/** `interval`: a positive whole number of seconds, one day by default. */
export function parseInterval(query: Query): number {
  const value = param(query, "interval");
  if (value === undefined) return 86_400;
  const seconds = /^\d{1,12}$/.test(value) ? Number(value) : 0;
  if (seconds < 1) {
    throw new AppError("InvalidInterval", `interval: ${JSON.stringify(value)} is not a positive whole number of seconds.`);
  }
  return seconds;
}

/** Most events in one page of `GET /:website?limit=`. */
export const MAX_PAGE = 100_000;
const FORMATS: readonly ExportFormat[] = ["json", "ndjson", "csv"];

/** `format` (json, ndjson, csv), and the optional paging: `limit` and `cursor`. */
export function parseExport(query: Query): ExportOptions {
  const format = param(query, "format") ?? "json";
  if (!FORMATS.includes(format as ExportFormat)) {
    throw new AppError("InvalidParameter", `format: ${JSON.stringify(format)} is not one of ${FORMATS.join(", ")}.`);
  }
  const limitText = param(query, "limit");
  const limit = limitText === undefined ? undefined : /^\d{1,6}$/.test(limitText) ? Number(limitText) : 0;
  if (limit !== undefined && (limit < 1 || limit > MAX_PAGE)) {
    throw new AppError("InvalidParameter", `limit: ${JSON.stringify(limitText)} is not a whole number from 1 to ${MAX_PAGE}.`);
  }
  const cursor = param(query, "cursor");
  if (cursor !== undefined && limit === undefined) {
    throw new AppError("InvalidParameter", "cursor: goes with limit; pass the same limit, start and end as for the first page.");
  }
  return { format: format as ExportFormat, limit, after: cursor === undefined ? undefined : decodeCursor(cursor) };
}

function param(query: Query, name: string): string | undefined {
  const value = query[name];
  if (value === undefined || typeof value === "string") return value;
  throw new AppError("InvalidParameter", `${name}: give it once, as a single value.`);
}
