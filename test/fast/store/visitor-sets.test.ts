import { describe, expect, test } from "bun:test";
import { decodeSet, encodeSet } from "../../../src/store/summary-format";
import { VisitorGroups } from "../../../src/store/visitor-sets";
import { seededRandom } from "../../helpers/random";

/**
 * Visitor sets as a month's summary stores them and as a scan makes them:
 * 2 bytes an id where they fit, else 4; a bitmap of every group's
 * visitors where it is small, else rows sorted by group. Each way must
 * give the same sets.
 */
describe("stored sets", () => {
  test("ids below 65,536 take 2 bytes each, and read back as they were", () => {
    const ids = Uint32Array.of(0, 1, 7, 65_535);
    const blob = encodeSet(ids);
    expect(blob.byteLength).toBe(8);
    expect(Array.from(decodeSet(blob, ids.length))).toEqual(Array.from(ids));
  });

  test("a set holding a higher id takes 4 bytes an id", () => {
    const ids = Uint32Array.of(3, 65_536, 4_000_000);
    const blob = encodeSet(ids);
    expect(blob.byteLength).toBe(12);
    expect(Array.from(decodeSet(blob, ids.length))).toEqual(Array.from(ids));
  });

  test("a blob that does not start on its width's boundary is read too", () => {
    const blob = encodeSet(Uint32Array.of(2, 9, 300));
    const shifted = new Uint8Array(blob.byteLength + 1).subarray(1);
    shifted.set(blob);
    expect(Array.from(decodeSet(shifted, 3))).toEqual([2, 9, 300]);
  });
});

describe("sets made from rows", () => {
  /** The expected sets: each group's distinct visitors, sorted. */
  function expected(rows: [number, number][], groups: number): { hits: number[]; ids: number[][] } {
    const hits = new Array(groups).fill(0);
    const ids = Array.from({ length: groups }, () => new Set<number>());
    for (const [group, visitor] of rows) {
      hits[group]++;
      ids[group]!.add(visitor);
    }
    return { hits, ids: ids.map((set) => [...set].sort((a, b) => a - b)) };
  }

  function made(rows: [number, number][], groups: number, idBound: number) {
    const grouped = new VisitorGroups(groups, idBound, 4);
    for (const [group, visitor] of rows) grouped.add(group, visitor);
    const sets = grouped.sets();
    return {
      hits: Array.from(sets.hits),
      ids: Array.from({ length: groups }, (_, g) => Array.from(sets.ids!(g)).sort((a, b) => a - b)),
      sizes: Array.from({ length: groups }, (_, g) => sets.size?.(g) ?? sets.ids!(g).length),
    };
  }

  // 40 groups of 1,000 ids fit a bitmap; 3,000 groups of 30,000 ids (90 M bits) do not.
  for (const [groups, idBound, way] of [
    [40, 1_000, "a bitmap"],
    [3_000, 30_000, "rows sorted by group"],
  ] as const) {
    test(`by ${way}: every group's events and distinct visitors, and their number`, () => {
      const next = seededRandom(groups);
      const rows = Array.from({ length: 20_000 }, (): [number, number] => [Math.floor(next() * groups), Math.floor(next() ** 2 * idBound)]);
      // The highest ids, at a word's last bit, must count too.
      rows.push([0, idBound - 1], [groups - 1, 31], [groups - 1, 31]);
      const want = expected(rows, groups);
      const got = made(rows, groups, idBound);
      expect(got.hits).toEqual(want.hits);
      expect(got.ids).toEqual(want.ids);
      expect(got.sizes).toEqual(want.ids.map((ids) => ids.length));
    });
  }

  test("without an id bound only events are counted", () => {
    const grouped = new VisitorGroups(3, undefined);
    grouped.add(2, 0);
    grouped.add(2, 5);
    expect(grouped.sets()).toEqual({ hits: Uint32Array.of(0, 0, 2) });
  });
});
