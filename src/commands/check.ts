import { Database } from "bun:sqlite";
import { isDirectory, listShards } from "../store/layout";

/**
 * `micro-analytics check`: SQLite's integrity check on every shard under
 * `root`, read-only, safe while the service runs. Exits 1 when any shard is
 * damaged, naming each.
 */
export function check(root: string): number {
  if (!isDirectory(root)) {
    console.error(`micro-analytics check: there is no database directory at ${root}.`);
    return 2;
  }
  const shards = listShards(root);
  let damaged = 0;
  for (const shard of shards) {
    const problems = integrityProblems(shard.path);
    if (problems.length > 0) {
      damaged++;
      console.log(`DAMAGED ${shard.path}: ${problems.slice(0, 5).join("; ")}${problems.length > 5 ? "; …" : ""}`);
    }
  }
  console.log(`checked ${shards.length} shards under ${root}: ${damaged === 0 ? "all ok" : `${damaged} damaged`}`);
  return damaged === 0 ? 0 : 1;
}

function integrityProblems(path: string): string[] {
  try {
    const db = new Database(path, { readonly: true });
    try {
      const rows = db.prepare("PRAGMA integrity_check").all() as { integrity_check: string }[];
      const problems = rows.map((row) => row.integrity_check).filter((line) => line !== "ok");
      // A file that is not SQLite at all can pass for an empty one until a table is read.
      db.prepare("SELECT COUNT(*) FROM visits").get();
      return problems;
    } finally {
      db.close();
    }
  } catch (error) {
    return [(error as Error).message];
  }
}
