import { matchSql, valueSql, type Dimension, type ValueMatch } from "../../store/dimensions";

export { matches } from "../../store/dimensions";

/**
 * Which events a query counts, by the values of their dimensions: an event
 * passes a filter when its value is one of `values`, or starts with one of
 * `prefixes` (only `path` takes those: `path=/docs/*`), and passes the query
 * when it passes every filter. Values and prefixes are sorted and without
 * repeats, so the same filter is always written the same (it is part of
 * what answers are cached under).
 */
export interface Filter extends ValueMatch {
  dimension: Dimension;
  values: string[];
  prefixes: string[];
}

/**
 * The filters as an SQL condition over `visits`, its parameters numbered
 * from `first` (`?first`, …), and the parameters in order. True without any.
 */
export function filterSql(filters: readonly Filter[], first: number): { sql: string; params: string[] } {
  const params: string[] = [];
  const param = (value: string) => `?${first + params.push(value) - 1}`;
  const conditions = filters.map((filter) => matchSql(valueSql(filter.dimension), filter, param));
  return { sql: conditions.length > 0 ? conditions.join(" AND ") : "1", params };
}
