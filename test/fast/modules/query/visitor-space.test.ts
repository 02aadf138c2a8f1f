import { describe, expect, test } from "bun:test";
import { addSet, combine, monthPart, type MonthPart } from "../../../../src/modules/query/visitor-space";
import { seededRandom } from "../../../helpers/fuzz";

const ids = (...values: number[]) => Uint32Array.from(values);
const byKey = (rows: { key: string | number; total: number; unique: number }[]) =>
  Object.fromEntries(rows.map(({ key, total, unique }) => [key, { total, unique }]));

describe("combine", () => {
  test("one month: a group's visitors are its set's ids; without sets, only hits", () => {
    const part = monthPart(5);
    addSet(part, "fr", { hits: 4, ids: ids(0, 2, 3) });
    addSet(part, "de", { hits: 1, ids: ids(4) });
    addSet(part, "it", { hits: 7 });
    expect(byKey(combine([part]))).toEqual({ fr: { total: 4, unique: 3 }, de: { total: 1, unique: 1 }, it: { total: 7, unique: 0 } });
  });

  test("sets of one group in one month (its days) are united, not summed", () => {
    const part = monthPart(4);
    addSet(part, "fr", { hits: 2, ids: ids(0, 1) });
    addSet(part, "fr", { hits: 3, ids: ids(1, 2, 3) });
    expect(byKey(combine([part]))).toEqual({ fr: { total: 5, unique: 4 } });
  });

  test("months that carry their website ids are united in one space: a visitor of two months is one visitor", () => {
    // The website's ids: 0 = a, 1 = b, 2 = c. October: ids 0 = a, 1 = b; November numbers its own: 0 = c, 1 = a.
    const october = monthPart(2, ids(0, 1));
    addSet(october, "", { hits: 3, ids: ids(0, 1) });
    addSet(october, "fr", { hits: 2, ids: ids(0) });
    const november = monthPart(2, ids(2, 0));
    addSet(november, "", { hits: 2, ids: ids(0, 1) });
    addSet(november, "fr", { hits: 1, ids: ids(1) });
    addSet(november, "de", { hits: 1, ids: ids(0) });
    expect(byKey(combine([october, november], 3))).toEqual({
      "": { total: 5, unique: 3 },
      fr: { total: 3, unique: 1 },
      de: { total: 1, unique: 1 },
    });
  });

  test("no parts, no groups", () => {
    expect(combine([])).toEqual([]);
  });

  test("agrees with a count over the visitors themselves, on random months", () => {
    const random = seededRandom(11);
    for (let trial = 0; trial < 50; trial++) {
      const visitors = Array.from({ length: 1 + Math.floor(random() * 40) }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
      const expected = new Map<string, { total: number; seen: Set<string> }>();
      const parts: MonthPart[] = [];
      for (let m = 0, months = 1 + Math.floor(random() * 4); m < months; m++) {
        // Each month numbers the visitors it saw, in its own order.
        const own = visitors.filter(() => random() < 0.6).sort(() => random() - 0.5);
        const part = monthPart(own.length, Uint32Array.from(own, (ip) => visitors.indexOf(ip)));
        for (const key of ["a", "b", "c"]) {
          // A group's events in the month, in one to three sets (its days).
          for (let s = 0, sets = 1 + Math.floor(random() * 3); s < sets && own.length > 0; s++) {
            const members = [...new Set(own.filter(() => random() < 0.5))];
            if (members.length === 0) continue;
            const hits = members.length + Math.floor(random() * 5);
            addSet(part, key, { hits, ids: Uint32Array.from(members.map((ip) => own.indexOf(ip))).sort() });
            const group = expected.get(key) ?? { total: 0, seen: new Set() };
            group.total += hits;
            for (const ip of members) group.seen.add(ip);
            expected.set(key, group);
          }
        }
        parts.push(part);
      }
      expect(byKey(combine(parts, visitors.length))).toEqual(
        Object.fromEntries(Array.from(expected, ([key, { total, seen }]) => [key, { total, unique: seen.size }])),
      );
    }
  });
});
