import { Database } from "bun:sqlite";
import { appendFileSync, existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/config";
import { hashKeyPath, openHashKey } from "../enrich/ip-keys";
import { HASHED, hashAddress } from "../enrich/ip-mode";
import { syncPath } from "../store/durable";
import { listShards, type ShardLocation } from "../store/layout";
import { lockRoot } from "../store/lock";
import { rootProblem } from "../store/maintenance";
import { addressCounts, hashAddresses } from "../store/rewrite";

/** The shards a run has finished, one JSON line each, so that a run cut short continues where it stopped. */
const PROGRESS_FILE = ".anonymize-progress";

/** A stored value that is an address (or any raw text), not a hash yet, nor empty. */
const isRaw = (ip: string) => ip !== "" && !HASHED.test(ip);

/**
 * `micro-analytics anonymize [--dry-run]`: replaces every stored address
 * under the root with the hash mode's keyed hash (see ip-mode.ts), so that
 * an existing root keeps no raw address and `--ip-mode hash` goes on
 * counting the same visitors. Run with the service stopped: it takes the
 * root's lock.
 *
 * Shard by shard, each in one transaction (all old or all new, whenever the
 * process dies), then compacted, its summary deleted; values that are
 * hashes already are left, so a second run changes nothing. Each finished
 * shard is noted with its version in PROGRESS_FILE, which a run that is cut
 * short leaves behind: the next one skips those that have not changed since,
 * and compacts every other, changed or not.
 */
export function anonymize(config: Config, dryRun: boolean): number {
  const { root } = config;
  const keyFile = config.privacy.ipKeyFile;
  const problem = rootProblem(root);
  if (problem) {
    console.error(`micro-analytics anonymize: ${problem}.`);
    return 2;
  }
  const shards = listShards(root);
  if (dryRun) return report(root, shards, keyFile);
  if (!lockRoot(root)) {
    console.error(`micro-analytics anonymize: ${root} is in use by a running service; stop it first.`);
    return 1;
  }

  let key: Buffer;
  try {
    const opened = openHashKey(root, keyFile);
    key = opened.key;
    console.log(
      `anonymize: replacing every visitor address in the ${shards.length} shards under ${root} with its keyed hash ` +
        `(key ${opened.path}${opened.created ? ", made now" : ""}). This cannot be undone: a shard's raw addresses are gone for good once it is done, ` +
        "and nothing can bring them back, not even the key (--dry-run shows what a run touches; a backup taken before is the only way back).",
    );
  } catch (error) {
    console.error(`micro-analytics anonymize: cannot have the key (${(error as Error).message}).`);
    return 1;
  }

  const progressPath = join(root, PROGRESS_FILE);
  // A progress file left behind means a run was cut short, perhaps between a shard's rewrite and its
  // compaction, which no state of the shard tells: every shard it did not finish is compacted. The
  // file is made before the first rewrite, so that holds of a run cut short in its first shard too.
  const cutShort = existsSync(progressPath);
  const done = readProgress(progressPath);
  noteStart(progressPath, root);
  const started = performance.now();
  let events = 0;
  let addresses = 0;
  let skipped = 0;
  let failures = 0;
  for (const shard of shards) {
    const name = `${shard.website}/${shard.month}`;
    try {
      if (done.get(name) === versionOf(shard.path)) {
        skipped++;
        continue;
      }
      const rewritten = hashAddresses(shard.path, (ip) => (isRaw(ip) ? hashAddress(key, ip) : undefined), cutShort);
      events += rewritten.events;
      addresses += rewritten.addresses;
      noteDone(progressPath, name, versionOf(shard.path));
    } catch (error) {
      failures++;
      console.error(`micro-analytics anonymize: ${name}: ${(error as Error).message}`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  if (failures === 0) rmSync(progressPath, { force: true });
  console.log(
    `anonymized ${events} events (${addresses} distinct addresses) in ${shards.length - failures - skipped} shards` +
      (skipped > 0 ? ` (${skipped} done by an earlier run)` : "") +
      ` under ${root} in ${seconds.toFixed(1)} s` +
      (failures > 0 ? `; ${failures} shards failed: run anonymize again once their problem is fixed` : "") +
      ". Serve this root with --ip-mode hash to keep it so.",
  );
  return failures === 0 ? 0 : 1;
}

/** `--dry-run`: what a run would rewrite, read-only, without the lock or a key. */
function report(root: string, shards: ShardLocation[], keyFile: string | undefined): number {
  let events = 0;
  let touched = 0;
  const addresses = new Set<string>();
  let failures = 0;
  for (const shard of shards) {
    try {
      let inShard = 0;
      for (const [ip, count] of addressCounts(shard.path)) {
        if (!isRaw(ip)) continue;
        inShard += count;
        addresses.add(ip);
      }
      if (inShard > 0) {
        touched++;
        events += inShard;
        console.log(`would rewrite ${shard.website}/${shard.month}: ${inShard} events`);
      }
    } catch (error) {
      failures++;
      console.error(`micro-analytics anonymize: ${shard.website}/${shard.month}: ${(error as Error).message}`);
    }
  }
  const path = hashKeyPath(root, keyFile);
  console.log(
    `dry run: would replace ${events} events' addresses (${addresses.size} distinct) in ${touched} of ${shards.length} shards under ${root} ` +
      `with their hash under ${path}${existsSync(path) ? "" : " (which would be made)"}; nothing was changed. The real run cannot be undone.`,
  );
  return failures === 0 ? 0 : 1;
}

/** Identifies a shard's content: its file, its count of rewrites and its last row. */
function versionOf(path: string): string {
  // Writable, as the lock is ours: a shard a killed writer left is recovered first, as the rewrite would.
  const db = new Database(path, { readwrite: true, create: false });
  try {
    const { rewrites } = db.prepare("SELECT user_version AS rewrites FROM pragma_user_version").get() as { rewrites: number };
    const { top } = db.prepare("SELECT IFNULL(max(rowid), 0) AS top FROM visits").get() as { top: number };
    return `${statSync(path).ino}:${rewrites}:${top}`;
  } finally {
    db.close(true);
  }
}

function readProgress(path: string): Map<string, string> {
  const done = new Map<string, string>();
  if (!existsSync(path)) return done;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    try {
      const { shard, version } = JSON.parse(line) as { shard: string; version: string };
      done.set(shard, version);
    } catch {
      // A line cut short by a crash: that shard is simply done again.
    }
  }
  return done;
}

function noteDone(path: string, shard: string, version: string): void {
  appendFileSync(path, JSON.stringify({ shard, version }) + "\n");
  syncPath(path);
}

/** Makes the progress file, if it is not there, durably: its name in the root included. */
function noteStart(path: string, root: string): void {
  appendFileSync(path, "");
  syncPath(path);
  syncPath(root);
}
