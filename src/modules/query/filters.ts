import { valueSql, type Dimension } from "../../store/dimensions";

/**
 * Which events a query counts, by the values of their dimensions: an event
 * passes a filter when its value is one of `values`, or starts with one of
 * `prefixes` (only `path` takes those: `path=/docs/*`), and passes the query
 * when it passes every filter. Values and prefixes are sorted and without
 * repeats, so the same filter is always written the same (it is part of
 * what answers are cached under).
 */
export interface Filter {
  dimension: Dimension;
  values: string[];
  prefixes: string[];
}

export function matches(filter: Filter, value: string): boolean {
  return filter.values.includes(value) || filter.prefixes.some((prefix) => value.startsWith(prefix));
}

/**
 * The filters as an SQL condition over `visits`, its parameters numbered
 * from `first` (`?first`, …), and the parameters in order. True without any.
 */
export function filterSql(filters: readonly Filter[], first: number): { sql: string; params: string[] } {
  const params: string[] = [];
  const param = (value: string) => `?${first + params.push(value) - 1}`;
  const conditions = filters.map(({ dimension, values, prefixes }) => {
    const value = valueSql(dimension);
    const either = [
      ...(values.length > 0 ? [`${value} IN (${values.map(param).join(", ")})`] : []),
      // substr counts characters, as length does: a prefix match whatever the text.
      ...prefixes.map((prefix) => {
        const p = param(prefix);
        return `substr(${value}, 1, length(${p})) = ${p}`;
      }),
    ];
    return `(${either.join(" OR ")})`;
  });
  return { sql: conditions.length > 0 ? conditions.join(" AND ") : "1", params };
}
