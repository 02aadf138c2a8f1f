import { countryName } from "../../enrich/countries";
import { monthBounds } from "../../store/layout";
import type { Shard } from "../../store/shard";
import type { TransientShards } from "../../store/shard-source";
import { keyedSets, type MonthSummary } from "../../store/summary";
import { DAY, SUMMARY_DIMENSIONS } from "../../store/summary-format";
import type { TimeRange } from "../../store/visit";
import { formatTime } from "../../time";
import { PROPERTIES, type Property } from "./model";
import { addSet, combine, type Key, monthPart, type MonthPart } from "./visitor-space";

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

/** How to group events. */
interface Grouping {
  /** The summary dimension whose sets it reads. */
  dim: number;
  /** The group of a row, as SQL over `visits`; `?3` is `interval`. */
  key: string;
  interval: number;
  /** A whole month's sets give the month's groups. */
  wholeMonths: boolean;
  /** The group of a day's set, when days' sets give groups. */
  ofDay?: (day: number, value: string) => Key;
  /** One group can hold events of two months, whose visitors then need one id space. */
  crossesMonths: boolean;
}

/** The part of the range that falls in one month. */
interface Span {
  from: number;
  to: number;
  wholeMonth: boolean;
}

/**
 * Counts events of a website in a range, grouped as `grouping` says.
 *
 * Unique visitors must be exact over the whole range, and a visitor seen in two
 * months is one visitor: so each month gives its groups' sets of visitors and
 * the sets are united across months, never their sizes summed. Each month is
 * read from its summary: the month's sets when the range covers it whole,
 * else its whole days' sets, and rows only for the hours at either edge.
 */
function tally(shards: TransientShards, website: string, range: TimeRange, grouping: Grouping, unique: boolean) {
  const months = shards.months(website, range);
  const oneSpace = unique && months.length > 1 && grouping.crossesMonths;
  const parts = months.map((month) => {
    const span = spanOf(range, month);
    try {
      return shards.withSummary(website, month, (summary) => fromSummary(summary, span, grouping, unique, oneSpace));
    } catch {
      // A full disk or a read-only root keeps the summary from being written:
      // it only saves time, and the shard's rows give the same answer.
      return shards.withShard(website, month, (shard) => fromRows(shard, span, grouping, unique));
    }
  });
  return combine(parts);
}

function spanOf({ start, end }: TimeRange, month: string): Span {
  const { first, last } = monthBounds(month);
  const from = Math.max(start ?? first, first);
  const to = Math.min(end ?? last, last);
  return { from, to, wholeMonth: from === first && to === last };
}

function fromSummary(summary: MonthSummary, span: Span, grouping: Grouping, unique: boolean, oneSpace: boolean): MonthPart {
  const part = monthPart(summary.idBound(), oneSpace ? summary.visitors() : undefined);
  if (span.wholeMonth && grouping.wholeMonths) {
    for (const set of summary.monthSets(grouping.dim, unique)) addSet(part, set.value, set);
    return part;
  }
  const rows = (from: number, to: number) => {
    for (const set of summary.rowSets(grouping.key, grouping.interval, from, to, unique)) addSet(part, set.key, set);
  };
  const firstDay = Math.ceil(span.from / DAY) * DAY;
  const afterDays = Math.floor((span.to + 1) / DAY) * DAY;
  const { ofDay } = grouping;
  if (!ofDay || firstDay >= afterDays) {
    rows(span.from, span.to);
    return part;
  }
  for (const set of summary.daySets(grouping.dim, firstDay, afterDays - DAY, unique)) addSet(part, ofDay(set.day, set.value), set);
  if (span.from < firstDay) rows(span.from, firstDay - 1);
  if (afterDays <= span.to) rows(afterDays, span.to);
  return part;
}

/** The month's groups from its rows alone, its visitors numbered as they come. */
function fromRows(shard: Shard, span: Span, grouping: Grouping, unique: boolean): MonthPart {
  const where = "FROM visits WHERE time >= ?1 AND time <= ?2";
  const params = grouping.interval ? [span.from, span.to, grouping.interval] : [span.from, span.to];
  if (!unique) {
    const part = monthPart(0);
    for (const { key, hits } of shard.all<{ key: Key; hits: number }>(`SELECT ${grouping.key} AS key, COUNT(*) AS hits ${where} GROUP BY 1`, ...params)) {
      addSet(part, key, { hits });
    }
    return part;
  }
  const rows = shard.all<{ key: Key; ip: string; hits: number }>(
    `SELECT ${grouping.key} AS key, CAST(IFNULL(ip, '') AS TEXT) AS ip, COUNT(*) AS hits ${where} GROUP BY 1, 2`,
    ...params,
  );
  const ids = new Map<string, number>();
  const pairs = rows.map(({ key, ip, hits }) => {
    let id = ids.get(ip);
    if (id === undefined) ids.set(ip, (id = ids.size));
    return [key, id, hits] as const;
  });
  const part = monthPart(ids.size, Array.from(ids.keys()));
  for (const set of keyedSets(pairs)) addSet(part, set.key, set);
  return part;
}

/** A breakdown's (or the count's) grouping: by the values of summary dimension `dim`. */
function byDimension(dim: number): Grouping {
  return { dim, key: SUMMARY_DIMENSIONS[dim]!, interval: 0, wholeMonths: true, ofDay: (_, value) => value, crossesMonths: true };
}

/** Buckets of `interval` seconds aligned on the epoch: from days' sets when they are whole days. */
function byInterval(interval: number): Grouping {
  return {
    dim: 0,
    key: "(time / ?3) * ?3",
    interval,
    wholeMonths: false,
    ofDay: interval % DAY === 0 ? (day) => day - (day % interval) : undefined,
    // Months begin at midnight UTC, so a bucket that divides a day lies in one month.
    crossesMonths: DAY % interval !== 0,
  };
}

export function count(shards: TransientShards, website: string, range: TimeRange, unique = true): Count {
  const [all] = tally(shards, website, range, byDimension(0), unique);
  return { total: all?.total ?? 0, unique: all?.unique ?? 0 };
}

export function breakdown(shards: TransientShards, website: string, range: TimeRange, property: Property, unique: boolean): Breakdown[] {
  return tally(shards, website, range, byDimension(PROPERTIES[property]), unique)
    .map(({ key, total, unique }) => {
      const id = String(key);
      return { id, label: property === "countries" ? countryName(id) : id, total, unique };
    })
    .sort((a, b) => b.total - a.total || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Buckets of `interval` seconds aligned on the Unix epoch; only those with events. */
export function series(shards: TransientShards, website: string, range: TimeRange, interval: number, unique: boolean): Bucket[] {
  return tally(shards, website, range, byInterval(interval), unique)
    .map(({ key, total, unique }) => ({ start: Number(key), total, unique }))
    .sort((a, b) => a.start - b.start)
    .map(({ start, total, unique }) => ({ start: formatTime(start), end: formatTime(start + interval), total, unique }));
}

/** A query as the routes parse it; plain data, so it can cross to the query worker. */
export type QueryRequest =
  | { kind: "count"; website: string; range: TimeRange; unique?: boolean }
  | { kind: "breakdown"; website: string; range: TimeRange; property: Property; unique: boolean }
  | { kind: "series"; website: string; range: TimeRange; interval: number; unique: boolean };

/** The JSON body that answers a query. */
export function answer(shards: TransientShards, request: QueryRequest): object {
  switch (request.kind) {
    case "count":
      return count(shards, request.website, request.range, request.unique);
    case "breakdown":
      return { list: breakdown(shards, request.website, request.range, request.property, request.unique) };
    case "series":
      return { list: series(shards, request.website, request.range, request.interval, request.unique) };
  }
}
