import { afterAll, afterEach, expect, setSystemTime, test } from "bun:test";
import { join } from "node:path";
import { Shard } from "../../../src/store/shard";
import { ShardReader, shardSignature } from "../../../src/store/shard-reader";
import { cleanup, scratch } from "../../helpers/cleanup";

afterAll(cleanup);
afterEach(() => setSystemTime());

const row = (time: number) => ({ time, event: "view", path: "/", ip: "10.0.0.1", platform: "Linux", refererDomain: "", countryCode: "" });

test("a shard's signature holds while it is only read, and moves with each write; a change is trusted once 2 s old", () => {
  const path = join(scratch(), "site.example", "2015-11", "analytics.db");
  const base = Date.UTC(2015, 10, 1) / 1000;
  // The writer stays open, so its rows stay in the WAL, as in a running service.
  const writer = Shard.open(path, true, "normal");
  try {
    writer.insert([[row(base)]]);
    const written = shardSignature(path);
    expect(written.settled).toBe(false);

    // A reader's open (which, as root, SQLite follows with a chown of the WAL) changes nothing.
    for (let i = 0; i < 3; i++) {
      const reader = ShardReader.open(path);
      expect(reader.top()).toBe(1);
      reader.close();
    }
    expect(shardSignature(path).text).toBe(written.text);

    writer.insert([[row(base + 1)]]);
    const again = shardSignature(path);
    expect(again.text).not.toBe(written.text);
    setSystemTime(Date.now() + 2_500);
    expect(shardSignature(path)).toEqual({ ...again, settled: true });
  } finally {
    writer.close();
  }
});
