import { type Dirent, existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { TimeRange } from "./visit";
import { isWebsiteName } from "./website";

/** `<root>/<website>/<YYYY-MM>/analytics.db`, the original's layout. */
export const SHARD_FILE = "analytics.db";

const MONTH_DIR = /^\d{4}-(0[1-9]|1[0-2])$/;

export function websiteDir(root: string, website: string): string {
  return join(root, website);
}

export function shardPath(root: string, website: string, month: string): string {
  return join(root, website, month, SHARD_FILE);
}

/** Whether `name` is a month directory's: `YYYY-MM`. */
export function isMonthName(name: string): boolean {
  return MONTH_DIR.test(name);
}

export function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

/**
 * The months of a website that hold a shard and overlap `range`, oldest first.
 * Anything else in the directory (a stray file, `.DS_Store`) is not a shard.
 */
export function monthsInRange(root: string, website: string, range: TimeRange): string[] {
  const dir = websiteDir(root, website);
  if (!isDirectory(dir)) return [];
  return readdirSync(dir)
    .filter((name) => MONTH_DIR.test(name) && existsSync(join(dir, name, SHARD_FILE)))
    .filter((month) => overlaps(month, range))
    .sort();
}

/** The first and last second of a `YYYY-MM` month, UTC. */
export function monthBounds(month: string): { first: number; last: number } {
  const year = Number(month.slice(0, 4));
  const index = Number(month.slice(5, 7)) - 1;
  return { first: Date.UTC(year, index, 1) / 1000, last: Date.UTC(year, index + 1, 1) / 1000 - 1 };
}

function overlaps(month: string, { start, end }: TimeRange): boolean {
  const { first, last } = monthBounds(month);
  return (start === undefined || last >= start) && (end === undefined || first <= end);
}

export interface ShardLocation {
  website: string;
  month: string;
  path: string;
}

/**
 * Every shard under the root, by website then month; anything else there is
 * ignored. A website directory that cannot be listed (another user's, say)
 * throws, unless `unreadable` is given: it then hears of the directory and
 * the listing goes on with the others.
 */
export function listShards(root: string, unreadable?: (dir: string, error: Error) => void): ShardLocation[] {
  if (!isDirectory(root)) return [];
  return readdirSync(root)
    .filter((name) => isWebsiteName(name) && isDirectory(join(root, name)))
    .sort()
    .flatMap((website) => {
      let months: string[];
      try {
        months = monthsInRange(root, website, {});
      } catch (error) {
        // Deleted since the root was listed: nothing to list.
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
        if (!unreadable) throw error;
        unreadable(websiteDir(root, website), error as Error);
        return [];
      }
      return months.map((month) => ({ website, month, path: shardPath(root, website, month) }));
    });
}

/** Bytes of every file under `dir` (shards, WALs, stray files alike); what cannot be read counts nothing. */
export function diskUsage(dir: string): number {
  let bytes = 0;
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) bytes += diskUsage(path);
    else if (entry.isFile()) bytes += sizeOf(path);
  }
  return bytes;
}

function sizeOf(path: string): number {
  try {
    return statSync(path, { throwIfNoEntry: false })?.size ?? 0;
  } catch {
    return 0;
  }
}
