import { CHUNK_ROWS } from "../../store/summary-fold";
import { listShards } from "../../store/layout";
import { MonthSummary } from "../../store/summary";

/**
 * Brings every shard's summary up to date after start, newest months first,
 * so that the first dashboard after an upgrade, a restore or a long
 * downtime does not wait for months of rows to be folded. It works one
 * chunk of rows at a time, each in its own task, so queries that arrive in
 * the meantime are answered between chunks rather than after the build.
 * `done` hears how many shards were visited once every summary is current.
 */
export function buildSummaries(root: string, done: (shards: number) => void): void {
  const queue = listShards(root).sort((a, b) => b.month.localeCompare(a.month));
  const shards = queue.length;
  const step = () => {
    const shard = queue[0];
    if (!shard) return done(shards);
    try {
      const summary = MonthSummary.open(shard.path, CHUNK_ROWS);
      summary.close();
      if (summary.caughtUp) queue.shift();
    } catch {
      // Gone (deleted, retired) or unreadable: a query of it says why.
      queue.shift();
    }
    setTimeout(step, 0);
  };
  setTimeout(step, 0);
}
