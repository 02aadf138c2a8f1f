import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { DIMENSION_NAMES, DIMENSIONS, dimensionOfBreakdown, valueSql } from "../../src/store/dimensions";
import { COLUMN_NAMES } from "../../src/store/month-columns";
import { groupVisitors } from "../../src/store/visitor-sets";
import { ORIGINAL_TABLE } from "../helpers/files";

describe("the table of dimensions", () => {
  test("each dimension is a column of the contract's table, with a breakdown route of its own", () => {
    const db = new Database(":memory:");
    db.run(ORIGINAL_TABLE);
    const columns = (db.query("PRAGMA table_info(visits)").all() as { name: string }[]).map(({ name }) => name);
    for (const { name } of DIMENSIONS) expect(columns).toContain(name);
    expect(new Set(DIMENSIONS.map((d) => d.name)).size).toBe(DIMENSIONS.length);
    expect(new Set(DIMENSIONS.map((d) => d.breakdown)).size).toBe(DIMENSIONS.length);
    expect(DIMENSIONS.map((d) => d.breakdown)).toEqual(["countries", "platforms", "domains", "events", "paths"]);
  });

  test("a breakdown route names its dimension; the other segments name none", () => {
    expect(dimensionOfBreakdown("paths")).toBe("path");
    expect(dimensionOfBreakdown("countries")).toBe("countryCode");
    for (const segment of ["count", "time", "path", "constructor", "__proto__", ""]) expect(dimensionOfBreakdown(segment)).toBeUndefined();
  });

  test("a row's value is text, and '' where the column holds nothing", () => {
    const db = new Database(":memory:");
    db.run(ORIGINAL_TABLE);
    db.run("INSERT INTO visits (time, event, path) VALUES (1, NULL, 42)");
    expect(db.query(`SELECT ${valueSql("event")} AS event, ${valueSql("path")} AS path FROM visits`).get()).toEqual({ event: "", path: "42" });
  });

  test("summaries keep a column for each dimension, beside time and visitor", () => {
    expect(COLUMN_NAMES).toEqual(["time", "visitor", ...DIMENSION_NAMES]);
  });
});

describe("visitor sets from rows", () => {
  test("each group counts its rows and keeps each visitor once", () => {
    const groups = Uint32Array.of(0, 2, 0, 0, 2, 1);
    const visitors = Uint32Array.of(5, 5, 7, 5, 9, 7);
    const { hits, ids } = groupVisitors(groups, visitors, 4, 10);
    expect(Array.from(hits)).toEqual([3, 1, 2, 0]);
    expect([0, 1, 2, 3].map((g) => Array.from(ids!(g)).sort())).toEqual([[5, 7], [7], [5, 9], []]);
  });

  test("without visitors only events are counted", () => {
    expect(groupVisitors(Uint32Array.of(1, 1, 0), undefined, 2, 0)).toEqual({ hits: Uint32Array.of(1, 2) });
  });
});
