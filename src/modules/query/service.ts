import { countryName } from "../../enrich/countries";
import { forEachShard, type ShardSource } from "../../store/shard-source";
import type { TimeRange } from "../../store/visit";
import { formatTime, MAX_TIME } from "../../time";
import { PROPERTIES, type Property } from "./model";

interface Tally {
  total: number;
  unique: number;
}

export interface Count {
  total: number;
  unique: number;
}

export interface Breakdown extends Tally {
  id: string;
  label: string;
}

export interface Bucket extends Tally {
  start: string;
  end: string;
}

const RANGE = "time >= ?1 AND time <= ?2";

/**
 * Counts events of a website in a range, grouped by an SQL expression `key`.
 *
 * Unique visitors must be exact over the whole range, and a visitor seen in two
 * months is one visitor: so each shard gives its distinct (key, ip) pairs and
 * the sets are merged here, never summed per month.
 */
function tally(source: ShardSource, website: string, range: TimeRange, key: string, unique: boolean, extra: number[] = []) {
  const sql = unique
    ? `SELECT ${key} AS k, IFNULL(ip, '') AS visitor, COUNT(*) AS n FROM visits WHERE ${RANGE} GROUP BY k, visitor`
    : `SELECT ${key} AS k, COUNT(*) AS n FROM visits WHERE ${RANGE} GROUP BY k`;
  const params = [range.start ?? 0, range.end ?? MAX_TIME, ...extra];
  const groups = new Map<string | number, { total: number; visitors: Set<string> }>();

  forEachShard(source, website, range, (shard) => {
    for (const row of shard.all<{ k: string | number; visitor?: string; n: number }>(sql, ...params)) {
      let group = groups.get(row.k);
      if (!group) groups.set(row.k, (group = { total: 0, visitors: new Set() }));
      group.total += row.n;
      if (row.visitor !== undefined) group.visitors.add(row.visitor);
    }
  });

  return Array.from(groups, ([k, { total, visitors }]) => ({ k, total, unique: visitors.size }));
}

export function count(source: ShardSource, website: string, range: TimeRange): Count {
  const [all] = tally(source, website, range, "''", true);
  return { total: all?.total ?? 0, unique: all?.unique ?? 0 };
}

export function breakdown(source: ShardSource, website: string, range: TimeRange, property: Property, unique: boolean): Breakdown[] {
  const column = PROPERTIES[property];
  return tally(source, website, range, `IFNULL(${column}, '')`, unique)
    .map(({ k, total, unique }) => {
      const id = String(k);
      return { id, label: property === "countries" ? countryName(id) : id, total, unique };
    })
    .sort((a, b) => b.total - a.total || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Buckets of `interval` seconds aligned on the Unix epoch; only those with events. */
export function series(source: ShardSource, website: string, range: TimeRange, interval: number, unique: boolean): Bucket[] {
  return tally(source, website, range, "(time / ?3) * ?3", unique, [interval])
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
export function answer(source: ShardSource, request: QueryRequest): object {
  switch (request.kind) {
    case "count":
      return count(source, request.website, request.range);
    case "breakdown":
      return { list: breakdown(source, request.website, request.range, request.property, request.unique) };
    case "series":
      return { list: series(source, request.website, request.range, request.interval, request.unique) };
  }
}
