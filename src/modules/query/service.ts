import { countryName } from "../../enrich/countries";
import type { Dimension } from "../../store/dimensions";
import { monthBounds } from "../../store/layout";
import { type MonthColumns, ShardColumns } from "../../store/month-columns";
import { ShardGone, type TransientShards } from "../../store/shard-source";
import type { MonthSummary } from "../../store/summary";
import { ALL_EVENTS, DAY } from "../../store/summary-format";
import type { TimeRange } from "../../store/visit";
import { formatTime, MAX_TIME } from "../../time";
import { bucketIndex, bucketStarts, TimeZone } from "./calendar";
import { type Filter, matches } from "./filters";
import type { Interval } from "./model";
import { type ScanGroups, scanMonth } from "./scan";
import { addSet, combine, type Key, monthPart, type MonthPart } from "./visitor-space";
import type { VisitorSpaces } from "./website-visitors";

/** What a query reads: the shards (and their summaries), and the websites' visitors kept between queries. */
export interface QuerySources {
  shards: TransientShards;
  visitors: VisitorSpaces;
}

/** Events, and distinct visitors (0 unless asked for). */
export interface Count {
  total: number;
  unique: number;
}

export interface Breakdown extends Count {
  id: string;
  label: string;
}

export interface Bucket extends Count {
  start: string;
  end: string;
}

/** A query as the routes parse it; plain data, so it can cross to the query worker. */
export type QueryRequest =
  | { kind: "count"; website: string; range: TimeRange; filters: Filter[]; unique?: boolean }
  | { kind: "breakdown"; website: string; range: TimeRange; filters: Filter[]; dimension: Dimension; unique: boolean; limit?: number }
  | { kind: "series"; website: string; range: TimeRange; filters: Filter[]; interval: Interval; unique: boolean };

/** How a breakdown labels its values: countries by their English name, the rest by the value itself. */
const LABELS: Partial<Record<Dimension, (id: string) => string>> = { countryCode: countryName };

/** How to group events. */
interface Grouping {
  /** How a scan of a month's columns groups rows. */
  scan: ScanGroups;
  /** A breakdown's dimension: a set's value is then its group. */
  dimension?: Dimension;
  /** Otherwise: the group of a whole month's events, when they fall in one. */
  ofMonth?: (first: number, last: number) => Key | undefined;
  /** And the group of a whole UTC day's events, when they fall in one. */
  ofDay?: (day: number) => Key | undefined;
  /** One group can hold events of two months, whose visitors then need one id space. */
  crossesMonths: boolean;
}

/** Past this many days of a month that two buckets share, the month is scanned whole rather than day by day. */
const MAX_SPLIT_DAYS = 8;

/** The part of the range that falls in one month. */
interface Span {
  from: number;
  to: number;
  first: number;
  last: number;
}

/**
 * Counts events of a website in a range, grouped as `grouping` says, of
 * those that pass every filter.
 *
 * Unique visitors must be exact over the whole range, and a visitor seen in
 * two months is one visitor: so each month gives its groups' sets of
 * visitors and the sets are united across months, never their sizes summed.
 * Each month is read from its summary: from the month's sets when the range
 * covers it whole, else from its whole days' sets, and from its columns
 * only for the hours at either edge. Sets exist per value of one dimension:
 * they serve a query with no filter, or a filter on one dimension when the
 * groups are not of another. Everything else (filters on several
 * dimensions, a breakdown by one dimension filtered by another, buckets of
 * local time) is a scan of the month's columns.
 */
function tally(sources: QuerySources, website: string, range: TimeRange, filters: Filter[], grouping: Grouping, unique: boolean) {
  const { shards } = sources;
  const months = shards.months(website, range);
  const visitors = unique && months.length > 1 && grouping.crossesMonths ? sources.visitors.of(website, shards.months(website, {})) : undefined;
  const parts = months.flatMap((month) => {
    const { first, last } = monthBounds(month);
    const span = { from: Math.max(range.start ?? first, first), to: Math.min(range.end ?? last, last), first, last };
    try {
      try {
        return [
          shards.withSummary(website, month, (summary) =>
            monthGroups(summary, summary, span, filters, grouping, unique, () => visitors?.ofSummary(month, summary.generation, summary)),
          ),
        ];
      } catch (error) {
        if (error instanceof ShardGone) throw error;
        // A full disk or a read-only root keeps the summary from being written:
        // it only saves time, and the shard's rows give the same answer.
        return [
          shards.withShard(website, month, (shard) => {
            const columns = new ShardColumns(shard, { first, last }, { first: span.from, last: span.to });
            return monthGroups(columns, undefined, span, filters, grouping, unique, () => visitors?.ofRows(columns));
          }),
        ];
      }
    } catch (error) {
      // Deleted since it was listed (DELETE, retention): it holds nothing any more.
      if (error instanceof ShardGone) return [];
      throw error;
    }
  });
  return combine(parts, visitors?.size);
}

function monthGroups(
  columns: MonthColumns,
  summary: MonthSummary | undefined,
  span: Span,
  filters: Filter[],
  grouping: Grouping,
  unique: boolean,
  toWebsite: () => Uint32Array | undefined,
): MonthPart {
  const part = monthPart(columns.idBound());
  addGroups(part, columns, summary, span, filters, grouping, unique);
  // Only for a month with groups: a filter may leave most months without.
  if (part.groups.size > 0) part.toWebsite = toWebsite();
  return part;
}

/** Adds a month's groups to `part`: from sets where they can answer, else from the columns. */
function addGroups(
  part: MonthPart,
  columns: MonthColumns,
  summary: MonthSummary | undefined,
  span: Span,
  filters: Filter[],
  grouping: Grouping,
  unique: boolean,
): void {
  let accepted: [Dimension, Uint8Array][] | undefined;
  const scan = (from: number, to: number) => {
    // Which ids of each filtered dimension's values pass, worked out once for the month.
    accepted ??= filters.map((filter): [Dimension, Uint8Array] => {
      const values = columns.values(filter.dimension);
      const passes = new Uint8Array(Math.max(values.length, 1));
      values.forEach((value, id) => (passes[id] = matches(filter, value) ? 1 : 0));
      return [filter.dimension, passes];
    });
    scanMonth(columns, { from, to, accepted, groups: grouping.scan, unique }, part);
  };

  const sets = summary && setsFor(filters, grouping);
  if (!sets || !summary) {
    scan(span.from, span.to);
    return;
  }
  const { dim, match } = sets;
  const keyOf = (value: string, time: Key) => (grouping.dimension ? value : time);
  const whole = span.from === span.first && span.to === span.last;
  const monthKey = whole ? (grouping.dimension ? "" : grouping.ofMonth?.(span.first, span.last)) : undefined;
  if (monthKey !== undefined) {
    for (const set of summary.monthSets(dim, unique, match)) addSet(part, keyOf(set.value, monthKey), set);
    return;
  }
  const ofDay = grouping.dimension ? () => "" : grouping.ofDay;
  const firstDay = Math.ceil(span.from / DAY) * DAY;
  const afterDays = Math.floor((span.to + 1) / DAY) * DAY;
  const split: number[] = [];
  for (let day = firstDay; ofDay && day < afterDays; day += DAY) if (ofDay(day) === undefined) split.push(day);
  if (!ofDay || firstDay >= afterDays || split.length > MAX_SPLIT_DAYS) {
    scan(span.from, span.to);
    return;
  }
  for (const set of summary.daySets(dim, firstDay, afterDays - DAY, unique, match)) {
    const key = ofDay(set.day);
    if (key !== undefined) addSet(part, keyOf(set.value, key), set);
  }
  // Days that two buckets share, and the hours at either edge, from the columns.
  for (const day of split) scan(day, day + DAY - 1);
  if (span.from < firstDay) scan(span.from, firstDay - 1);
  if (afterDays <= span.to) scan(afterDays, span.to);
}

/**
 * Which sets can answer: those of the grouping's dimension (or of all
 * events) when nothing is filtered; those of the one dimension filtered,
 * kept to its values, when the groups are not of another dimension.
 */
function setsFor(filters: Filter[], grouping: Grouping): { dim: string; match?: Filter } | undefined {
  if (filters.length === 0) return { dim: grouping.dimension ?? ALL_EVENTS };
  const [filter] = filters;
  if (filters.length > 1 || (grouping.dimension && grouping.dimension !== filter!.dimension)) return undefined;
  return { dim: filter!.dimension, match: filter };
}

const byDimension = (dimension: Dimension): Grouping => ({ scan: { kind: "dimension", dimension }, dimension, crossesMonths: true });

const everything: Grouping = { scan: { kind: "all" }, ofMonth: () => "", ofDay: () => "", crossesMonths: true };

/** Buckets of `seconds` aligned on the epoch: from days' sets when they are whole days. */
function byInterval(seconds: number, months: string[]): Grouping {
  const bucket = (time: number) => time - (time % seconds);
  return {
    scan: { kind: "interval", seconds },
    ofMonth: (first, last) => (bucket(first) === bucket(last) ? bucket(first) : undefined),
    ofDay: seconds % DAY === 0 ? bucket : undefined,
    crossesMonths: months.slice(1).some((month) => monthBounds(month).first % seconds !== 0),
  };
}

/**
 * Calendar buckets of a time zone, that start at each of `starts`: a whole
 * month or UTC day that lies in one bucket is read from its sets (all of
 * them where the zone is UTC and buckets are days or longer; in another
 * zone, the months and days inside weeks, months and years).
 */
function byCalendar(starts: number[], months: string[]): Grouping {
  const bucketOf = (time: number) => starts[bucketIndex(starts, time)]!;
  const boundaries = new Set(starts);
  return {
    scan: { kind: "buckets", starts },
    ofMonth: (first, last) => (bucketOf(first) === bucketOf(last) ? bucketOf(first) : undefined),
    ofDay: (day) => (bucketOf(day) === bucketOf(day + DAY - 1) ? bucketOf(day) : undefined),
    crossesMonths: months.slice(1).some((month) => !boundaries.has(monthBounds(month).first)),
  };
}

/** Events and distinct visitors; with `unique` false (nothing to count visitors by), visitors are 0. */
export function count(sources: QuerySources, website: string, range: TimeRange, filters: Filter[], unique = true): Count {
  const [all] = tally(sources, website, range, filters, everything, unique);
  return { total: all?.total ?? 0, unique: all?.unique ?? 0 };
}

/** Past this many rows, a breakdown's top rows have their visitors united in the same pass as every other row's. */
const UNITED_APART_AT_MOST = 1000;

/**
 * The values of `dimension`, by total descending then id; with `limit`, the
 * first `limit` of them. Totals are cheap and uniting visitors is not (a
 * year's paths are millions of value and visitor pairs), so when only the top
 * rows are wanted, and the dimension's own sets answer, every value is
 * totalled first and the visitors are united for the top rows alone.
 */
export function breakdown(
  sources: QuerySources,
  website: string,
  range: TimeRange,
  filters: Filter[],
  dimension: Dimension,
  unique: boolean,
  limit?: number,
): Breakdown[] {
  const label = LABELS[dimension] ?? ((id: string) => id);
  const grouping = byDimension(dimension);
  const rows = (kept: Filter[], visitors: boolean) =>
    tally(sources, website, range, kept, grouping, visitors)
      .map(({ key, total, unique }) => ({ id: String(key), label: label(String(key)), total, unique }))
      .sort((a, b) => b.total - a.total || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (limit === undefined) return rows(filters, unique);
  if (!unique || limit > UNITED_APART_AT_MOST || !setsFor(filters, grouping)) return rows(filters, unique).slice(0, limit);
  const all = rows(filters, false);
  const top = all.slice(0, limit);
  if (top.length === 0) return top;
  // The top values, as a filter on the dimension: they pass any filter given, which is on this dimension too.
  const kept = top.length === all.length ? filters : [{ dimension, values: top.map((row) => row.id), prefixes: [] }];
  const visitors = new Map(rows(kept, true).map((row) => [row.id, row.unique]));
  return top.map((row) => ({ ...row, unique: visitors.get(row.id) ?? 0 }));
}

/** Buckets that hold events, ascending: of a number of seconds from the epoch on, or of a local calendar. */
export function series(sources: QuerySources, website: string, range: TimeRange, filters: Filter[], interval: Interval, unique: boolean): Bucket[] {
  const months = sources.shards.months(website, range);
  if (months.length === 0) return [];
  let grouping: Grouping;
  let end: (start: number) => number;
  if ("seconds" in interval) {
    grouping = byInterval(interval.seconds, months);
    end = (start) => start + interval.seconds;
  } else {
    const from = Math.max(range.start ?? 0, monthBounds(months[0]!).first);
    const to = Math.min(range.end ?? MAX_TIME, monthBounds(months.at(-1)!).last);
    const starts = bucketStarts(interval.unit, TimeZone.named(interval.zone), from, to);
    grouping = byCalendar(starts, months);
    const next = new Map(starts.slice(0, -1).map((start, i) => [start, starts[i + 1]!]));
    end = (start) => next.get(start)!;
  }
  return tally(sources, website, range, filters, grouping, unique)
    .map(({ key, total, unique }) => ({ start: Number(key), total, unique }))
    .sort((a, b) => a.start - b.start)
    .map(({ start, total, unique }) => ({ start: formatTime(start), end: formatTime(bucketEnd(end(start))), total, unique }));
}

/**
 * A bucket's end as the answer writes it: after 9999-12-31T23:59:59Z, the
 * last second of a four-digit year, no time can be written, so a bucket that
 * would end later ends there.
 */
function bucketEnd(end: number): number {
  return Math.min(end, MAX_TIME);
}

/** The JSON body that answers a query. */
export function answer(sources: QuerySources, request: QueryRequest): object {
  const { website, range, filters } = request;
  switch (request.kind) {
    case "count":
      return count(sources, website, range, filters, request.unique);
    case "breakdown":
      return { list: breakdown(sources, website, range, filters, request.dimension, request.unique, request.limit) };
    case "series":
      return { list: series(sources, website, range, filters, request.interval, request.unique) };
  }
}
