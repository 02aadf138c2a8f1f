import { diskUsage, websiteDir } from "../../store/layout";
import { ShardFault, ShardGone, type TransientShards } from "../../store/shard-source";
import { formatTime } from "../../time";

/** One website of `GET /_websites`. */
export interface WebsiteEntry {
  website: string;
  /** The earliest and latest event, RFC 3339 UTC; null when it has none. */
  firstTime: string | null;
  lastTime: string | null;
  events: number;
  /** Every file under the website's directory: shards, WALs, summaries. */
  bytes: number;
}

/**
 * Every website under the root, by name, with what its month summaries know
 * of it: no row is counted, and a month whose files have not changed since
 * it was last asked costs two `stat` calls. `faults` are the directories
 * and shards that could not be read: their website is listed with what
 * could be (or not at all, when its directory cannot be listed).
 */
export function listWebsites(shards: TransientShards): { list: WebsiteEntry[]; faults: string[] } {
  const list: WebsiteEntry[] = [];
  const faults: string[] = [];
  for (const website of shards.websites()) {
    let months: string[];
    try {
      months = shards.months(website, {});
    } catch (error) {
      if (!(error instanceof ShardFault)) throw error;
      faults.push(error.message);
      continue;
    }
    let events = 0;
    let first = Infinity;
    let last = -Infinity;
    for (const month of months) {
      try {
        const facts = shards.facts(website, month);
        events += facts.rows;
        if (facts.firstTime !== null) first = Math.min(first, facts.firstTime);
        if (facts.lastTime !== null) last = Math.max(last, facts.lastTime);
      } catch (error) {
        if (error instanceof ShardGone) continue;
        if (!(error instanceof ShardFault)) throw error;
        faults.push(error.message);
      }
    }
    // Deleted while it was read.
    if (!shards.hasWebsite(website)) continue;
    const time = (seconds: number) => (Number.isFinite(seconds) ? formatTime(seconds) : null);
    list.push({ website, firstTime: time(first), lastTime: time(last), events, bytes: diskUsage(websiteDir(shards.root, website)) });
  }
  return { list, faults };
}
