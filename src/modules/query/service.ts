import { countryName } from "../../enrich/countries";
import { monthBounds } from "../../store/layout";
import type { TransientShards } from "../../store/shard-source";
import { SUMMARY_DIMENSIONS } from "../../store/summary";
import type { TimeRange } from "../../store/visit";
import { formatTime, MAX_TIME } from "../../time";
import { PROPERTIES, type Property } from "./model";

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

const RANGE = "time >= ?1 AND time <= ?2";
const DAY = 86_400;

/** How to group events: over a shard's rows, and (when it can) over a whole month's summary. */
interface Grouping {
  /** An SQL expression over `visits`; `?3` is `params[0]`. */
  key: string;
  params?: number[];
  /** Reads of a month summary, as rows of {k, n} with `visitor` (an ip) or `u` (a unique count). */
  summary?: { unique: string; total: string; params: number[] };
}

interface Row {
  k: string | number;
  n: number;
  visitor?: string;
  /** Distinct visitors counted already; only where the group cannot span months. */
  u?: number;
}

/**
 * Counts events of a website in a range, grouped as `grouping` says.
 *
 * Unique visitors must be exact over the whole range, and a visitor seen in two
 * months is one visitor: so each month gives its distinct (group, ip) pairs and
 * the sets are merged here, never summed per month. A month the range covers
 * whole is read from its summary (some tens of thousands of visitors, not a
 * million rows); a month it cuts is read from its rows, by the time index.
 */
function tally(shards: TransientShards, website: string, range: TimeRange, grouping: Grouping, unique: boolean) {
  const rawSql = unique
    ? `SELECT ${grouping.key} AS k, IFNULL(ip, '') AS visitor, COUNT(*) AS n FROM visits WHERE ${RANGE} GROUP BY k, visitor`
    : `SELECT ${grouping.key} AS k, COUNT(*) AS n FROM visits WHERE ${RANGE} GROUP BY k`;
  const rawParams = [range.start ?? 0, range.end ?? MAX_TIME, ...(grouping.params ?? [])];
  const groups = new Map<string | number, { total: number; visitors: Set<string>; counted: number }>();
  const add = (rows: Row[]) => {
    for (const row of rows) {
      let group = groups.get(row.k);
      if (!group) groups.set(row.k, (group = { total: 0, visitors: new Set(), counted: 0 }));
      group.total += row.n;
      if (row.visitor !== undefined) group.visitors.add(row.visitor);
      if (row.u !== undefined) group.counted += row.u;
    }
  };

  for (const month of shards.months(website, range)) {
    const summary = grouping.summary;
    const summarized = summary && coversMonth(range, month) ? fromSummary(shards, website, month, unique ? summary.unique : summary.total, summary.params) : undefined;
    add(summarized ?? shards.withShard(website, month, (shard) => shard.all<Row>(rawSql, ...rawParams)));
  }

  return Array.from(groups, ([k, { total, visitors, counted }]) => ({ k, total, unique: unique ? visitors.size + counted : 0 }));
}

/** A breakdown's (or the count's) grouping: summary dimension `dim` is the same expression. */
function byDimension(dim: number): Grouping {
  return {
    key: SUMMARY_DIMENSIONS[dim]!,
    summary: {
      unique: "SELECT value AS k, ip AS visitor, hits AS n FROM visitors WHERE dim = ?1",
      total: "SELECT value AS k, SUM(hits) AS n FROM visitors WHERE dim = ?1 GROUP BY value",
      params: [dim],
    },
  };
}

/** Buckets of `interval` seconds; whole days can come from summaries, shorter ones only from rows. */
function byInterval(interval: number): Grouping {
  const grouping: Grouping = { key: "(time / ?3) * ?3", params: [interval] };
  if (interval === DAY) {
    // A day lies in one month, so each day's count of visitors is already exact.
    const sql = "SELECT day AS k, SUM(hits) AS n, COUNT(*) AS u FROM day_visitors GROUP BY day";
    grouping.summary = { unique: sql, total: sql, params: [] };
  } else if (interval % DAY === 0) {
    grouping.summary = {
      unique: "SELECT (day / ?1) * ?1 AS k, ip AS visitor, SUM(hits) AS n FROM day_visitors GROUP BY k, ip",
      total: "SELECT (day / ?1) * ?1 AS k, SUM(hits) AS n FROM day_visitors GROUP BY k",
      params: [interval],
    };
  }
  return grouping;
}

/**
 * A month's rows from its summary; undefined when the summary cannot be had
 * (a full disk or a read-only root keeps it from being written): it only
 * saves time, and the shard's rows give the same answer.
 */
function fromSummary(shards: TransientShards, website: string, month: string, sql: string, params: number[]): Row[] | undefined {
  try {
    return shards.withSummary(website, month, (summary) => summary.all<Row>(sql, ...params));
  } catch {
    return undefined;
  }
}

function coversMonth({ start, end }: TimeRange, month: string): boolean {
  const { first, last } = monthBounds(month);
  return (start === undefined || start <= first) && (end === undefined || end >= last);
}

export function count(shards: TransientShards, website: string, range: TimeRange): Count {
  const [all] = tally(shards, website, range, byDimension(0), true);
  return { total: all?.total ?? 0, unique: all?.unique ?? 0 };
}

export function breakdown(shards: TransientShards, website: string, range: TimeRange, property: Property, unique: boolean): Breakdown[] {
  return tally(shards, website, range, byDimension(PROPERTIES[property]), unique)
    .map(({ k, total, unique }) => {
      const id = String(k);
      return { id, label: property === "countries" ? countryName(id) : id, total, unique };
    })
    .sort((a, b) => b.total - a.total || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Buckets of `interval` seconds aligned on the Unix epoch; only those with events. */
export function series(shards: TransientShards, website: string, range: TimeRange, interval: number, unique: boolean): Bucket[] {
  return tally(shards, website, range, byInterval(interval), unique)
    .map(({ k, total, unique }) => ({ start: Number(k), total, unique }))
    .sort((a, b) => a.start - b.start)
    .map(({ start, total, unique }) => ({ start: formatTime(start), end: formatTime(start + interval), total, unique }));
}

/** A query as the routes parse it; plain data, so it can cross to the query worker. */
export type QueryRequest =
  | { kind: "count"; website: string; range: TimeRange }
  | { kind: "breakdown"; website: string; range: TimeRange; property: Property; unique: boolean }
  | { kind: "series"; website: string; range: TimeRange; interval: number; unique: boolean };

/** The JSON body that answers a query. */
export function answer(shards: TransientShards, request: QueryRequest): object {
  switch (request.kind) {
    case "count":
      return count(shards, request.website, request.range);
    case "breakdown":
      return { list: breakdown(shards, request.website, request.range, request.property, request.unique) };
    case "series":
      return { list: series(shards, request.website, request.range, request.interval, request.unique) };
  }
}
