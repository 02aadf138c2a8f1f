/**
 * What the page shows, read from and written to its URL: a link reproduces
 * the view, and Back goes to the one before.
 *
 *   /_dashboard/<website>?range=30d&interval=day&tz=Europe/Paris&countryCode=fr&live=1
 *   /_dashboard/<website>?from=2025-03-01&to=2025-03-31&tz=…   (a custom range, local days, inclusive)
 */
import { add, INTERVALS, isTimeZone, parseLocalDate, startOf, type Interval } from "./time";

export const PRESETS = {
  "24h": "Last 24 hours",
  "7d": "Last 7 days",
  "30d": "Last 30 days",
  month: "This month",
  "last-month": "Last month",
  "12m": "Last 12 months",
  all: "All time",
} as const;
export type Preset = keyof typeof PRESETS;
export const DEFAULT_PRESET: Preset = "30d";

/** The API's filters, by the query parameter that names them, with the panel each comes from. */
export const FILTERS = {
  path: "Page",
  refererDomain: "Referrer",
  countryCode: "Country",
  platform: "Platform",
  event: "Event",
} as const;
export type FilterName = keyof typeof FILTERS;

export interface Filter {
  name: FilterName;
  value: string;
}

export type RangeChoice = { preset: Preset } | { from: string; to: string };

export interface View {
  website: string;
  range: RangeChoice;
  /** Chosen by the viewer; otherwise one that fits the range. */
  interval?: Interval;
  tz: string;
  filters: Filter[];
  live: boolean;
}

/** A range in UTC seconds, both ends inclusive; an end left out means up to now and beyond. */
export interface Range {
  start?: number;
  end?: number;
}

export const DASHBOARD_PATH = "/_dashboard";

export function viewerTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** The website a dashboard URL names, or undefined for the picker. */
export function websiteOf(pathname: string): string | undefined {
  const rest = pathname.slice(DASHBOARD_PATH.length).replace(/^\/+|\/+$/g, "");
  return rest === "" ? undefined : decodeURIComponent(rest);
}

export function readView(website: string, search: URLSearchParams): View {
  const tzParam = search.get("tz");
  const tz = tzParam && isTimeZone(tzParam) ? tzParam : viewerTimeZone();
  const from = search.get("from");
  const to = search.get("to");
  const preset = search.get("range");
  let range: RangeChoice = { preset: DEFAULT_PRESET };
  if (from && to && parseLocalDate(from, tz) !== undefined && parseLocalDate(to, tz) !== undefined && from <= to) range = { from, to };
  else if (preset && Object.hasOwn(PRESETS, preset)) range = { preset: preset as Preset };
  const interval = search.get("interval");
  const filters: Filter[] = [];
  for (const name of Object.keys(FILTERS) as FilterName[]) {
    for (const value of search.getAll(name)) {
      if (!filters.some((f) => f.name === name && f.value === value)) filters.push({ name, value });
    }
  }
  return {
    website,
    range,
    interval: (INTERVALS as readonly string[]).includes(interval ?? "") ? (interval as Interval) : undefined,
    tz,
    filters,
    live: search.get("live") === "1",
  };
}

export function viewUrl(view: View): string {
  const search = new URLSearchParams();
  if ("preset" in view.range) search.set("range", view.range.preset);
  else {
    search.set("from", view.range.from);
    search.set("to", view.range.to);
  }
  if (view.interval) search.set("interval", view.interval);
  search.set("tz", view.tz);
  for (const filter of view.filters) search.append(filter.name, filter.value);
  if (view.live) search.set("live", "1");
  return `${DASHBOARD_PATH}/${encodeURIComponent(view.website)}?${search}`;
}

/**
 * The range a choice stands for at `now`, in the view's zone. Ranges that
 * run up to now end with the current hour, so that their answers (and the
 * previous period's) stay the same, and cached, for an hour.
 */
export function resolveRange(choice: RangeChoice, now: number, tz: string): Range {
  if (!("preset" in choice)) {
    return { start: parseLocalDate(choice.from, tz)!, end: parseLocalDate(choice.to, tz, 1)! - 1 };
  }
  const hour = startOf("hour", now, tz);
  const end = hour + 3599;
  const today = startOf("day", now, tz);
  const month = startOf("month", now, tz);
  switch (choice.preset) {
    case "24h":
      return { start: hour - 23 * 3600, end };
    case "7d":
      return { start: add("day", today, -6, tz), end };
    case "30d":
      return { start: add("day", today, -29, tz), end };
    case "month":
      return { start: month, end };
    case "last-month":
      return { start: add("month", month, -1, tz), end: month - 1 };
    case "12m":
      return { start: add("month", month, -11, tz), end };
    case "all":
      return {};
  }
}

/** The period of the same length just before a range; none for a range without both ends. */
export function previousRange(range: Range): Range | undefined {
  if (range.start === undefined || range.end === undefined) return undefined;
  const length = range.end - range.start + 1;
  return { start: range.start - length, end: range.start - 1 };
}

export function rangeLabel(choice: RangeChoice): string {
  return "preset" in choice ? PRESETS[choice.preset] : `${choice.from} to ${choice.to}`;
}
