import { mkdirSync, rmSync } from "node:fs";
import { sep } from "node:path";
import { monthOf } from "../time";
import { isDirectory, monthsInRange, shardPath, websiteDir } from "./layout";
import type { ShardPool } from "./pool";
import type { Shard } from "./shard";
import type { TimeRange, Visit } from "./visit";

/**
 * The websites under one root directory. Website names reaching this class
 * have been validated at the edge (see `website.ts`).
 */
export class Store {
  constructor(
    readonly root: string,
    private readonly pool: ShardPool,
  ) {
    mkdirSync(root, { recursive: true });
  }

  hasWebsite(website: string): boolean {
    return isDirectory(websiteDir(this.root, website));
  }

  /** Writes visits to their month shards, one transaction per shard. */
  append(website: string, visits: Visit[]): void {
    for (const [month, rows] of groupByMonth(visits)) {
      this.pool.acquire(shardPath(this.root, website, month), true).insert(rows);
    }
  }

  /**
   * Calls `visit` with each shard of `website` that may hold events in
   * `range`, oldest month first. The one path every query takes to the files.
   */
  forEachShard(website: string, range: TimeRange, visit: (shard: Shard) => void): void {
    for (const month of monthsInRange(this.root, website, range)) {
      visit(this.pool.acquire(shardPath(this.root, website, month), false));
    }
  }

  /** Removes the website's whole directory; false when there was none. */
  deleteWebsite(website: string): boolean {
    const dir = websiteDir(this.root, website);
    if (!isDirectory(dir)) return false;
    this.pool.closeUnder(dir + sep);
    rmSync(dir, { recursive: true, force: true });
    return true;
  }

  close(): void {
    this.pool.closeAll();
  }
}

function groupByMonth(visits: Visit[]): Map<string, Visit[]> {
  const months = new Map<string, Visit[]>();
  for (const visit of visits) {
    const month = monthOf(visit.time);
    const rows = months.get(month);
    if (rows) rows.push(visit);
    else months.set(month, [visit]);
  }
  return months;
}
