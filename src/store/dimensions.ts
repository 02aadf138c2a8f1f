/**
 * The dimensions of an event that queries break down and filter by, one
 * entry each: its column in `visits` (which is also its filter parameter)
 * and the path segment of its breakdown route. Month summaries keep sets of
 * visitors and a column of value ids for each, so adding one here adds its
 * breakdown, its filter and its place in the summaries (bump SUMMARY_FORMAT
 * so that summaries without it are built again).
 */
export const DIMENSIONS = [
  { name: "countryCode", breakdown: "countries" },
  { name: "platform", breakdown: "platforms" },
  { name: "refererDomain", breakdown: "domains" },
  { name: "event", breakdown: "events" },
  { name: "path", breakdown: "paths" },
] as const;

export type Dimension = (typeof DIMENSIONS)[number]["name"];
export type BreakdownName = (typeof DIMENSIONS)[number]["breakdown"];

export const DIMENSION_NAMES: readonly Dimension[] = DIMENSIONS.map((dimension) => dimension.name);

/** The dimension a breakdown route names, if it names one. */
export function dimensionOfBreakdown(segment: string): Dimension | undefined {
  return DIMENSIONS.find((dimension) => dimension.breakdown === segment)?.name;
}

/** A row's value of a dimension, as SQL over `visits`: always text, and '' where there is none. */
export function valueSql(dimension: Dimension): string {
  return `CAST(IFNULL(${dimension}, '') AS TEXT)`;
}

/** Values to keep: those in `values`, and those that start with one of `prefixes`. */
export interface ValueMatch {
  values: readonly string[];
  prefixes: readonly string[];
}

export function matches(match: ValueMatch, value: string): boolean {
  return match.values.includes(value) || match.prefixes.some((prefix) => value.startsWith(prefix));
}

/** `match` as an SQL condition over the text `expression`; `param` binds a value and answers its placeholder. */
export function matchSql(expression: string, match: ValueMatch, param: (value: string) => string): string {
  const either = [
    ...(match.values.length > 0 ? [`${expression} IN (${match.values.map(param).join(", ")})`] : []),
    // substr counts characters, as length does: a prefix match whatever the text.
    ...match.prefixes.map((prefix) => {
      const p = param(prefix);
      return `substr(${expression}, 1, length(${p})) = ${p}`;
    }),
  ];
  return either.length > 0 ? `(${either.join(" OR ")})` : "0";
}
