import { cpSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { listShards } from "../store/layout";
import { accessRoot, needsRecovery, openShard, rootProblem } from "../store/maintenance";
import { MOVED_DIR } from "../store/moves";

/**
 * `micro-analytics backup DEST`: copies every shard under `root` to the same
 * layout under `destination`, while the service keeps running. Each copy is
 * `VACUUM INTO`: one read transaction, so each shard is copied as it stood
 * at one instant, with every event committed before that instant, and
 * compacted. On a stopped root a shard a killed writer left is recovered
 * first, as the service would (see maintenance.ts). The marks of websites
 * this node gave away to another (see moves.ts) are copied last, so a
 * restored node still refuses them. Restoring is copying the tree back (see
 * docs/operations.md, "Backups").
 */
export function backup(root: string, destination: string): number {
  const problem = rootProblem(root);
  if (problem) {
    console.error(`micro-analytics backup: ${problem}.`);
    return 2;
  }
  if (existsSync(destination) && (!statSync(destination).isDirectory() || readdirSync(destination).length > 0)) {
    console.error(`micro-analytics backup: ${destination} exists and is not an empty directory; give a new one.`);
    return 2;
  }
  const access = accessRoot(root);
  const started = performance.now();
  const shards = listShards(root);
  let bytes = 0;
  let failures = 0;
  for (const shard of shards) {
    const target = join(destination, relative(root, shard.path));
    try {
      mkdirSync(dirname(target), { recursive: true });
      const db = openShard(shard.path, access);
      try {
        db.prepare("VACUUM INTO ?").run(target);
      } finally {
        db.close(true);
      }
      bytes += statSync(target).size;
    } catch (error) {
      failures++;
      const reason = needsRecovery(error)
        ? "needs recovery (a writer was killed mid-transaction); the running service recovers it when it opens this shard: run backup again then, or with the service stopped"
        : (error as Error).message;
      console.error(`micro-analytics backup: ${shard.website}/${shard.month}: ${reason}`);
    }
  }
  const marks = join(root, MOVED_DIR);
  if (existsSync(marks)) cpSync(marks, join(destination, MOVED_DIR), { recursive: true });
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `backed up ${shards.length - failures} of ${shards.length} shards, ${(bytes / 1024 / 1024).toFixed(1)} MiB in ${seconds.toFixed(2)} s` +
      ` (${(bytes / 1024 / 1024 / Math.max(seconds, 0.001)).toFixed(1)} MiB/s) to ${destination}`,
  );
  return failures === 0 ? 0 : 1;
}
