import type { TransientShards } from "../../store/shard-source";
import { FOLD_ROWS } from "../../store/summary-fold";

/**
 * Brings every shard's summary up to date after start, newest months first,
 * so that the first dashboard after an upgrade, a restore or a long
 * downtime does not wait for months of rows to be folded. It works one
 * chunk of rows at a time, each in its own task, so queries that arrive in
 * the meantime are answered between chunks rather than after the build.
 * `done` hears how many shards were visited once every summary is current,
 * and which website directories could not be listed (their queries fail,
 * others' do not).
 */
export function buildSummaries(shards: TransientShards, done: (shards: number, unreadable: string[]) => void): void {
  const unreadable: string[] = [];
  const queue = shards.all((dir) => unreadable.push(dir)).sort((a, b) => b.month.localeCompare(a.month));
  const total = queue.length;
  const step = () => {
    const shard = queue[0];
    if (!shard) return done(total, unreadable);
    try {
      if (shards.withSummary(shard.website, shard.month, (summary) => summary.caughtUp, { maxRows: FOLD_ROWS })) queue.shift();
    } catch {
      // Gone (deleted, retired) or unreadable: a query of it says why.
      queue.shift();
    }
    setTimeout(step, 0);
  };
  setTimeout(step, 0);
}
