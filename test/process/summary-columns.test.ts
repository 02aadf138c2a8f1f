import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { openApp, type TestApp } from "../helpers/app";
import { writeOriginalShard, type VisitRow } from "../helpers/files";
import { TEST_MS } from "../helpers/wait";

/**
 * A month's columns are kept in chunks of 65,536 rows, and a scan reads only
 * the chunks whose times overlap its range: a range that starts or ends at
 * the very row where one chunk ends and the next begins must count both
 * sides. The month is first written as the original service left it, its
 * summary built, then more events come through the service, so the fold
 * fills the last chunk up and starts another. In process, but in this tier:
 * 70,000 rows are a second or more of writing and scanning.
 */
setDefaultTimeout(TEST_MS);
const SITE = "chunks.example";
const BASE = Date.UTC(2016, 4, 1) / 1000;
const FIRST = 60_000;
const MORE = 10_000;
const row = (i: number): VisitRow => ({
  time: BASE + i * 30,
  event: i % 2 ? "view" : "click",
  path: "/",
  ip: `10.3.${(i % 2000) >> 8}.${i % 256}`,
  platform: "",
  refererDomain: "",
  countryCode: i % 3 ? "fr" : "de",
});

let app: TestApp;
beforeAll(async () => {
  app = await openApp();
  writeOriginalShard(app.root, SITE, "2016-05", Array.from({ length: FIRST }, (_, i) => row(i)));
});
afterAll(() => app.close());

/** Two filters, so the columns answer, not the sets; every row passes them. */
const EVERY_ROW = "event=view&event=click&countryCode=fr&countryCode=de";

async function count(from: number, to: number): Promise<unknown> {
  const answer = await app.request(`/${SITE}/count?start=${BASE + from * 30}&end=${BASE + to * 30}&${EVERY_ROW}`);
  expect(answer.status).toBe(200);
  return answer.body;
}

const expected = (from: number, to: number) => {
  const ips = new Set<string>();
  for (let i = from; i <= to; i++) ips.add(row(i).ip);
  return { total: to - from + 1, unique: ips.size };
};

test("ranges that start or end where a chunk does count the rows on both sides", async () => {
  expect(await count(0, FIRST - 1)).toEqual(expected(0, FIRST - 1));
  const more = Array.from({ length: MORE }, (_, i) => row(FIRST + i)).map(({ time, event, path, ip, countryCode }) => ({ time, event, path, ip, countryCode }));
  expect((await app.request(`/${SITE}/bulk`, { body: { list: more } })).status).toBe(200);
  const last = FIRST + MORE - 1;
  // Rows 0 to 65,535 fill the first chunk.
  for (const [from, to] of [[0, last], [65_535, 65_535], [65_536, 65_536], [65_535, 65_536], [65_000, 66_000], [100, 65_535], [65_536, last], [59_999, 60_000]]) {
    expect(await count(from!, to!), `rows ${from} to ${to}`).toEqual(expected(from!, to!));
  }
}, 30_000);
