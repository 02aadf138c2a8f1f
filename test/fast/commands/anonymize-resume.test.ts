import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { anonymize } from "../../../src/commands/anonymize";
import { loadConfig } from "../../../src/config/config";
import { openHashKey } from "../../../src/enrich/ip-keys";
import { HASHED, hashAddress } from "../../../src/enrich/ip-mode";
import { tempDir } from "../../helpers/cleanup";
import { writeOriginalShard } from "../../helpers/files";

const RAW_IPV4 = /(?<![\d.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d.])/;

function configFor(root: string) {
  const command = loadConfig(["anonymize", "--root", root], {});
  if (command.name !== "anonymize") throw new Error(`not the anonymize command: ${command.name}`);
  return command.config;
}

// A run killed after a shard's rewrite committed and before its compaction ended leaves a shard whose
// every stored value is a hash, so the next run has nothing to change in it; yet the pages that UPDATE
// rebuilt still hold pieces of the raw rows in their slack, which only compacting clears.
test("a run after one cut short compacts the shard it left rewritten but not compacted", () => {
  const root = join(tempDir("ma-anonymize-resume-"), "dbs");
  const start = Date.parse("2014-04-01T00:00:00Z") / 1000;
  writeOriginalShard(
    root,
    "cold.example",
    "2014-04",
    Array.from({ length: 5_000 }, (_, i) => {
      const visitor = (i * 7919) % 500;
      return { time: start + i * 60, event: "pageview", path: `/page/${i % 40}`, ip: `10.0.${visitor >> 8}.${visitor & 255}`, platform: "Linux", refererDomain: "", countryCode: "us" };
    }),
  );
  const shard = join(root, "cold.example", "2014-04", "analytics.db");

  // The state such a run leaves: the rewrite committed (with secure_delete, as the command does), no
  // compaction, and its progress file naming no finished shard.
  const { key } = openHashKey(root, undefined);
  const db = new Database(shard, { readwrite: true });
  db.run("PRAGMA secure_delete = ON");
  const update = db.prepare("UPDATE visits SET ip = ?1 WHERE ip = ?2");
  db.transaction(() => {
    for (const [ip] of db.prepare("SELECT DISTINCT ip FROM visits").values() as [string][]) update.run(hashAddress(key, ip), ip);
  })();
  expect((db.prepare("PRAGMA freelist_count").get() as { freelist_count: number }).freelist_count).toBe(0);
  db.close();
  writeFileSync(join(root, ".anonymize-progress"), "");
  // What makes the compaction necessary: raw bytes the rows no longer hold.
  expect(readFileSync(shard).toString("latin1")).toMatch(RAW_IPV4);

  expect(anonymize(configFor(root), false)).toBe(0);

  expect(readFileSync(shard).toString("latin1")).not.toMatch(RAW_IPV4);
  const after = new Database(shard, { readonly: true });
  const ips = after.prepare("SELECT DISTINCT ip FROM visits").values() as [string][];
  after.close();
  expect(ips.length).toBe(500);
  expect(ips.every(([ip]) => HASHED.test(ip))).toBe(true);
});
