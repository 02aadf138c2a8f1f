import type { TransientShards } from "../../store/shard-source";
import { FOLD_ROWS } from "../../store/summary-fold";

/** What the builder learnt: how many shards it visited, the website directories it could not list, and each website's visitor ids. */
export interface Built {
  shards: number;
  unreadable: string[];
  /** By website, the visitor ids of all its months together (a visitor of two months counts twice). */
  visitors: Map<string, number>;
}

/**
 * Brings every shard's summary up to date after start, newest months first,
 * so that the first dashboard after an upgrade, a restore or a long
 * downtime does not wait for months of rows to be folded. It works one
 * chunk of rows at a time, each in its own task, so queries that arrive in
 * the meantime are answered between chunks rather than after the build.
 * `done` hears what it found once every summary is current (website
 * directories that cannot be listed fail their own queries, not others').
 */
export function buildSummaries(shards: TransientShards, done: (built: Built) => void): void {
  const built: Built = { shards: 0, unreadable: [], visitors: new Map() };
  const queue = shards.all((dir) => built.unreadable.push(dir)).sort((a, b) => b.month.localeCompare(a.month));
  built.shards = queue.length;
  const step = () => {
    const shard = queue[0];
    if (!shard) return done(built);
    try {
      const visitors = shards.withSummary(shard.website, shard.month, (summary) => (summary.caughtUp ? summary.idBound() - 1 : undefined), {
        maxRows: FOLD_ROWS,
      });
      if (visitors !== undefined) {
        built.visitors.set(shard.website, (built.visitors.get(shard.website) ?? 0) + visitors);
        queue.shift();
      }
    } catch {
      // Gone (deleted, retired) or unreadable: a query of it says why.
      queue.shift();
    }
    setTimeout(step, 0);
  };
  setTimeout(step, 0);
}
