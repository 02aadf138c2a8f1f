import { rmSync } from "node:fs";
import { join } from "node:path";
import { cacheDirectory } from "../cache/directory";
import type { Config } from "../config/config";
import { existingDailyKey, existingHashKey } from "../enrich/ip-keys";
import { describeVisitor, visitorMatcher } from "../modules/erasure/visitor";
import { listShards } from "../store/layout";
import { lockRoot } from "../store/lock";
import { rootProblem } from "../store/maintenance";
import { eraseAddresses } from "../store/rewrite";

/**
 * `micro-analytics erase ADDRESS`: deletes every event of one visitor from
 * every website and month under the root, as `DELETE
 * /:website/visitors/:ip` does for one website: the address as stored, its
 * other spellings, and its hash under the keys the root holds (the hash
 * mode's, and the daily mode's of today). Run with the service stopped (it
 * takes the root's lock); the cached answers of the websites it changed are
 * deleted from --cache-directory.
 */
export function erase(config: Config, address: string): number {
  const { root } = config;
  const problem = rootProblem(root);
  if (problem) {
    console.error(`micro-analytics erase: ${problem}.`);
    return 2;
  }
  if (address.trim() === "") {
    console.error("micro-analytics erase: give the visitor's address.");
    return 2;
  }
  if (!lockRoot(root)) {
    console.error(`micro-analytics erase: ${root} is in use by a running service; stop it first, or use DELETE /<website>/visitors/<address> on the service.`);
    return 1;
  }
  const keys = [existingHashKey(root, config.privacy.ipKeyFile), existingDailyKey(root)].filter((key) => key !== undefined);
  const matches = visitorMatcher(describeVisitor(address, keys));
  const byWebsite = new Map<string, number>();
  let failures = 0;
  for (const shard of listShards(root)) {
    try {
      const removed = eraseAddresses(shard.path, matches);
      if (removed > 0) byWebsite.set(shard.website, (byWebsite.get(shard.website) ?? 0) + removed);
    } catch (error) {
      failures++;
      console.error(`micro-analytics erase: ${shard.website}/${shard.month}: ${(error as Error).message}`);
    }
  }
  let total = 0;
  for (const [website, removed] of byWebsite) {
    total += removed;
    console.log(`${website}: removed ${removed} events`);
    rmSync(join(cacheDirectory(config.cacheDirectory), website), { recursive: true, force: true });
  }
  const websites = `${byWebsite.size} website${byWebsite.size === 1 ? "" : "s"}`;
  console.log(`removed ${total} events of that visitor from ${websites} under ${root}${failures > 0 ? `; ${failures} shards failed, run erase again` : ""}`);
  return failures === 0 ? 0 : 1;
}
