import { statSync } from "node:fs";
import { AppError } from "../../errors";
import type { Logger } from "../../observe/log";
import { shardPath } from "../../store/layout";
import type { ShardCounts } from "../../store/shard-copier";
import type { Store } from "../../store/store";
import { describeAnswer, type NodeClient } from "./client";

/** What a move did, for the rebalance command's report. */
export interface MoveReport {
  website: string;
  /** The node the website went to, by its name. */
  to: string;
  months: number;
  events: number;
  ids: number;
  bytes: number;
  /** How long writes to the website were refused (503) while its last months were copied and checked. */
  holdMs: number;
}

interface Copy {
  version: string;
  counts: ShardCounts;
  bytes: number;
}

/**
 * Moves a website from this node to another (`POST /_cluster/move/:website`),
 * as the issue of running past one machine lays it out:
 *
 * 1. every month is copied while this node keeps taking writes: the other
 *    node pulls a consistent copy of each (see export.ts, import.ts);
 * 2. the website's writes are held (503 with Retry-After) and the writes
 *    admitted before are waited for; the months that changed since their
 *    copy (the current one, usually) are copied again, and every month's
 *    counts here (events and ids, exact now that nothing writes) are
 *    checked against the copy's;
 * 3. the website is marked as moved, on disk, and only then does the other
 *    node put its copy in place: from the mark on, this node answers 421
 *    for the website's writes, so no event can be acknowledged here that
 *    the copy lacks; a mark whose install failed is taken back, and one
 *    whose outcome could not be learned stays (the website is refused, never
 *    split) until `rebalance` runs again;
 * 4. later, once the router sends the website to its new owner,
 *    `rebalance --finish` removes this node's copy (`dropCopy`); the mark stays.
 *
 * A website marked as moved whose new owner never took it (the install's
 * outcome was lost) is moved again the same way: its writes were refused
 * all along, so its copy here is whole.
 */
export class WebsiteMover {
  private readonly moving = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly client: NodeClient,
    private readonly forget: (website: string) => Promise<void>,
    private readonly log: Logger,
  ) {}

  /** `to` is the new owner's URL; `self` is this node's, as the new owner reaches it. */
  async move(website: string, to: string, self: string): Promise<MoveReport> {
    if (!this.store.hasWebsite(website)) throw new AppError("InvalidDatabaseName", `There is no website named "${website}" on this node.`);
    if (this.moving.has(website)) throw new AppError("Conflict", `"${website}" is being moved already.`);
    this.moving.add(website);
    try {
      return await this.run(website, to, self);
    } finally {
      this.moving.delete(website);
    }
  }

  /** Removes the copy of a website that moved away; its 421 mark stays. False when there was no copy left. */
  async dropCopy(website: string): Promise<boolean> {
    if (this.store.moves.movedTo(website) === undefined) {
      throw new AppError("Conflict", `"${website}" has not moved away from this node; only a moved website's old copy is removed.`);
    }
    if (this.moving.has(website)) throw new AppError("Conflict", `"${website}" is being moved right now.`);
    const removed = this.store.deleteWebsite(website);
    await this.forget(website);
    return removed;
  }

  private async run(website: string, to: string, self: string): Promise<MoveReport> {
    const target = `${to}/_cluster/import/${encodeURIComponent(website)}`;
    const cleared = await this.request(target, { method: "DELETE" }, `clear an earlier copy of ${website} on ${to}`);
    const name = cleared.node ?? to;
    const copies = new Map<string, Copy>();
    const pull = async (month: string, held: boolean) => {
      const { version } = this.state(website, month);
      const answer = await this.request(`${target}/${month}`, { body: { from: self, held } }, `copy ${website}/${month} to ${name}`);
      copies.set(month, { version, counts: { events: answer.body.events, ids: answer.body.ids }, bytes: answer.body.bytes });
    };

    // A website marked moved takes no writes: all of it is copied in the hold below.
    const resumed = this.store.moves.movedTo(website) !== undefined;
    try {
      if (!resumed) for (const month of this.store.months(website, {})) await pull(month, false);
    } catch (error) {
      await this.abort(target);
      throw error;
    }

    const held = performance.now();
    await this.store.moves.hold(website);
    try {
      const months: Record<string, ShardCounts> = {};
      try {
        this.store.moves.unmark(website);
        for (const month of this.store.months(website, {})) {
          // Exact: nothing writes to the website now.
          const { version, counts: exact } = this.state(website, month);
          if (copies.get(month)?.version !== version) await pull(month, true);
          if (!same(copies.get(month)!.counts, exact)) {
            await pull(month, true);
            if (!same(copies.get(month)!.counts, exact)) {
              throw new AppError("MoveFailed", `The copy of ${website}/${month} on ${name} holds ${describe(copies.get(month)!.counts)}, not ${describe(exact)}; ${website} stays here.`);
            }
          }
          months[month] = exact;
        }
        this.store.moves.markMoved(website, name);
      } catch (error) {
        await this.abort(target);
        throw error;
      }

      const outcome = await this.install(target, months);
      if (outcome !== "stored") {
        if (outcome === "unknown") {
          this.log.error("move: cannot learn whether the new owner took the website; it is refused here until rebalance runs again", { website, to: name });
          throw new AppError("MoveFailed", `Cannot learn whether ${name} took ${website}; it is refused here (421) until rebalance is run again, which finishes or repeats the move.`);
        }
        this.store.moves.unmark(website);
        await this.abort(target);
        throw new AppError("MoveFailed", `${name} did not take ${website}; it stays here.`);
      }
      const holdMs = performance.now() - held;
      const copied = Object.keys(months).map((month) => copies.get(month)!);
      const report: MoveReport = {
        website,
        to: name,
        months: copied.length,
        events: copied.reduce((sum, copy) => sum + copy.counts.events, 0),
        ids: copied.reduce((sum, copy) => sum + copy.counts.ids, 0),
        bytes: copied.reduce((sum, copy) => sum + copy.bytes, 0),
        holdMs: Math.round(holdMs),
      };
      this.log.info("moved a website", { ...report });
      return report;
    } finally {
      this.store.moves.release(website);
    }
  }

  /** The new owner installs its copy: "stored" once it has, "none" when it surely has not, "unknown" when it cannot be learned. */
  private async install(target: string, months: Record<string, ShardCounts>): Promise<"stored" | "none" | "unknown"> {
    try {
      const answer = await this.client.json(target, { method: "PUT", body: { months } });
      if (answer.status === 200) return "stored";
      this.log.warn("move: the new owner refused the copy", { target, answer: describeAnswer(answer) });
    } catch (error) {
      this.log.warn("move: no answer from the new owner to the install", { target, error: String(error) });
    }
    try {
      const state = await this.client.json(target);
      if (state.status === 200) return state.body.state === "stored" ? "stored" : "none";
    } catch {
      // Unreachable: nothing can be learned.
    }
    return "unknown";
  }

  private async abort(target: string): Promise<void> {
    try {
      await this.client.json(target, { method: "DELETE" });
    } catch {
      // The new owner removes what is staged when it starts, and before the next move of this website.
    }
  }

  private async request(url: string, init: { method?: string; body?: unknown }, what: string) {
    let answer;
    try {
      answer = await this.client.json(url, init);
    } catch (error) {
      throw new AppError("MoveFailed", `Cannot ${what}: ${(error as Error).message}.`);
    }
    if (answer.status !== 200) throw new AppError("MoveFailed", `Cannot ${what}: ${describeAnswer(answer)}.`);
    return answer;
  }

  /**
   * A month's counts, and its version: what changes with every write to it
   * (its file, a new one after a restore; its count of rewrites in place;
   * its highest rowid; its counts). Read on the writer's own connection,
   * which counts a month of a million events in a few milliseconds.
   */
  private state(website: string, month: string): { version: string; counts: ShardCounts } {
    const path = shardPath(this.store.root, website, month);
    return this.store.withShard(website, month, (shard) => {
      const counts = shard.counts();
      return { version: `${statSync(path).ino}:${shard.rewrites()}:${shard.maxRowid()}:${counts.events}:${counts.ids}`, counts };
    });
  }
}

function same(a: ShardCounts, b: ShardCounts): boolean {
  return a.events === b.events && a.ids === b.ids;
}

function describe(counts: ShardCounts): string {
  return `${counts.events} events and ${counts.ids} ids`;
}
