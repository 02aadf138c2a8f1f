import { Database } from "bun:sqlite";
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { visitorMatcher } from "../../../src/modules/erasure/visitor";
import { ShardErasure } from "../../../src/store/rewrite";
import { cleanup, scratch } from "../../helpers/cleanup";
import { insertRows, inspect, pageview as row, storedIps, writeOriginalShard, writeServiceShard } from "../../helpers/files";
import { TEST_MS } from "../../helpers/wait";

afterAll(cleanup);
setDefaultTimeout(TEST_MS);

const visitor = visitorMatcher({ address: "8.8.8.8", hashes: [] });
const rewrites = (path: string) => inspect(path, (db) => db.query<{ user_version: number }, []>("PRAGMA user_version").get()!.user_version);

/** Another connection's write, with no patience: it fails at once if anyone holds the write lock. */
function writeNow(path: string, change: (db: Database) => void): void {
  const db = new Database(path);
  try {
    db.run("PRAGMA busy_timeout = 0");
    db.transaction(() => change(db)).immediate();
  } finally {
    db.close();
  }
}

test("between its scan and its commit an erasure holds no lock; the commit deletes the rows the scan found and the visitor's rows added since, and only those", () => {
  const path = writeServiceShard([row("8.8.8.8"), row("1.1.1.1"), row("8.8.8.8:443"), row("::ffff:8.8.8.8")]);
  writeFileSync(join(path, "..", "summary.db"), "a summary that lists 8.8.8.8");
  const erasure = ShardErasure.scan(path, visitor, true);
  expect(erasure.found).toBe(3);

  // The service writes meanwhile: an event of someone else, and one of the visitor, which came after the scan.
  writeNow(path, (db) => insertRows(db, [row("9.9.9.9", 1448370001), row("8.8.8.8", 1448370002)]));

  expect(erasure.commit()).toBe(4);
  expect(storedIps(path)).toEqual(["1.1.1.1", "9.9.9.9"]);
  expect(rewrites(path)).toBe(1);
  // The WAL, whose frames held the rows as they were, is emptied; the summary is gone.
  expect(statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0).toBe(0);
  expect(existsSync(join(path, "..", "summary.db"))).toBe(false);
});

test("a row the scan found that has since become another row (same rowid, another address) is not deleted", () => {
  const path = writeServiceShard([row("1.1.1.1"), row("8.8.8.8")]);
  const erasure = ShardErasure.scan(path, visitor, true);
  expect(erasure.found).toBe(1);
  writeNow(path, (db) => {
    db.run("DELETE FROM visits");
    db.run("INSERT INTO visits (rowid, time, event, path, ip, platform, refererDomain, countryCode) VALUES (1, 0, 'pageview', '/', '2.2.2.2', '', '', ''), (2, 0, 'pageview', '/', '3.3.3.3', '', '', '')");
  });
  expect(erasure.commit()).toBe(0);
  expect(storedIps(path)).toEqual(["2.2.2.2", "3.3.3.3"]);
  // Nothing changed: cached answers of the shard stay good.
  expect(rewrites(path)).toBe(0);
});

test("a visitor the scan did not find, whose events came after it, is erased at the commit; with none, nothing changes", () => {
  const path = writeServiceShard([row("1.1.1.1")]);
  const erasure = ShardErasure.scan(path, visitor, true);
  expect(erasure.found).toBe(0);
  writeNow(path, (db) => insertRows(db, [row("8.8.8.8:80", 1448370001), row("2.2.2.2", 1448370002)]));
  expect(erasure.commit()).toBe(1);
  expect(storedIps(path)).toEqual(["1.1.1.1", "2.2.2.2"]);
  expect(rewrites(path)).toBe(1);

  writeFileSync(join(path, "..", "summary.db"), "a summary");
  expect(ShardErasure.scan(path, visitor, true).commit()).toBe(0);
  expect(rewrites(path)).toBe(1);
  expect(existsSync(join(path, "..", "summary.db"))).toBe(true);
});

test("a scan leaves no lock held; a live scan puts a shard in the original's layout in WAL mode first", () => {
  const root = scratch();
  const path = writeOriginalShard(root, "site", "2015-11", [row("1.1.1.1"), row("8.8.8.8")]);
  const journal = () => inspect(path, (db) => db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()!.journal_mode);
  expect(journal()).toBe("delete");
  const nobody = ShardErasure.scan(path, visitorMatcher({ address: "4.4.4.4", hashes: [] }), true);
  expect(journal()).toBe("wal");
  // Nothing holds the file: a writer with no patience gets the lock at once.
  writeNow(path, (db) => db.run("DELETE FROM visits WHERE ip = '1.1.1.1'"));
  nobody.close();
  expect(ShardErasure.scan(path, visitor, true).commit()).toBe(1);
  expect(storedIps(path)).toEqual([]);
});
