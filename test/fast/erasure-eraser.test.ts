import { Database } from "bun:sqlite";
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { Eraser } from "../../src/modules/erasure/eraser";
import { cleanup, scratch } from "../helpers/cleanup";
import { insertRows, pageview as row, storedIps, writeServiceShard } from "../helpers/files";
import { TEST_MS } from "../helpers/wait";

afterAll(cleanup);
setDefaultTimeout(TEST_MS);

/** What the service's writer commits just before the hold takes, after the worker's scan: rows the scan never saw. */
function commitLate(path: string, ips: string[]): void {
  const db = new Database(path);
  try {
    db.transaction(() => insertRows(db, ips.map((ip) => row(ip, 1448370001))))();
  } finally {
    db.close();
  }
}

test("through the worker, each shard is held and erased whether or not its scan found the visitor, rows stored after the scan included", async () => {
  const eraser = new Eraser();
  try {
    const visitor = { address: "8.8.8.8", hashes: [] };
    const withVisitor = writeServiceShard([row("8.8.8.8"), row("1.1.1.1")]);
    const without = writeServiceShard([row("1.1.1.1")]);
    const held: string[] = [];
    const holdThenWrite = (path: string) => () => {
      held.push(path);
      commitLate(path, ["::ffff:8.8.8.8", "3.3.3.3"]);
      return () => held.push(`released ${path}`);
    };
    expect(await eraser.eraseShard(withVisitor, visitor, holdThenWrite(withVisitor))).toBe(2);
    expect(await eraser.eraseShard(without, visitor, holdThenWrite(without))).toBe(1);
    expect(held).toEqual([withVisitor, `released ${withVisitor}`, without, `released ${without}`]);
    expect(storedIps(withVisitor)).toEqual(["1.1.1.1", "3.3.3.3"]);
    expect(storedIps(without)).toEqual(["1.1.1.1", "3.3.3.3"]);
    // A month gone since it was listed is neither held nor an error.
    expect(await eraser.eraseShard(join(scratch(), "gone", "analytics.db"), visitor, holdThenWrite("gone"))).toBe(0);
    expect(held).toHaveLength(4);
  } finally {
    eraser.close();
  }
});
