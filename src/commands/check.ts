import { listShards } from "../store/layout";
import { accessRoot, needsRecovery, openShard, rootProblem, type RootAccess } from "../store/maintenance";

/**
 * `micro-analytics check`: SQLite's integrity check on every shard under
 * `root`. Safe while the service runs (it then only reads); on a stopped
 * root it first recovers what a killed writer left, as the service would
 * (see maintenance.ts). Exits 1 when any shard is damaged, naming each.
 */
export function check(root: string): number {
  const problem = rootProblem(root);
  if (problem) {
    console.error(`micro-analytics check: ${problem}.`);
    return 2;
  }
  const access = accessRoot(root);
  const shards = listShards(root);
  let damaged = 0;
  let pending = 0;
  for (const shard of shards) {
    const result = inspect(shard.path, access);
    if (result === "needs recovery") {
      pending++;
      console.log(
        `NEEDS RECOVERY ${shard.path}: a writer was killed mid-transaction; the running service recovers it when it opens this shard (or run check with the service stopped)`,
      );
    } else if (result.length > 0) {
      damaged++;
      console.log(`DAMAGED ${shard.path}: ${result.slice(0, 5).join("; ")}${result.length > 5 ? "; …" : ""}`);
    }
  }
  const verdict = damaged === 0 ? "all ok" : `${damaged} damaged`;
  console.log(`checked ${shards.length} shards under ${root}: ${verdict}${pending > 0 ? ` (${pending} to be recovered by the service)` : ""}`);
  return damaged === 0 ? 0 : 1;
}

/** The integrity check's complaints (none when whole), or that the shard needs a writer to recover it first. */
function inspect(path: string, access: RootAccess): string[] | "needs recovery" {
  try {
    const db = openShard(path, access);
    try {
      const rows = db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").all();
      const problems = rows.map((row) => row.integrity_check).filter((line) => line !== "ok");
      // A file that is not SQLite at all can pass for an empty one until a table is read.
      db.query("SELECT COUNT(*) FROM visits").get();
      return problems;
    } finally {
      db.close(true);
    }
  } catch (error) {
    return needsRecovery(error) ? "needs recovery" : [(error as Error).message];
  }
}
