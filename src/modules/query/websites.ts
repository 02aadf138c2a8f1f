import { type BigIntStats, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { isMonthName, SHARD_FILE, websiteDir } from "../../store/layout";
import { signatureOf } from "../../store/shard-reader";
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

/** How long the entry of a website not written to since is used as it is: its bytes move with summaries and checkpoints. */
const KEEP_MS = 5 * 60_000;
/** Entries older than that read again in one listing, at most, oldest first; the others wait for the next. */
const REFRESH_AT_MOST = 1000;

/**
 * `GET /_websites`: every website under the root, by name, with what its
 * month summaries know of it: no row is counted. Walking 10,000 website
 * directories costs tens of thousands of `stat` calls, so each website's
 * entry is kept, and read again only when the website was written to since
 * (the main thread tells, see Store.onWritten), when it is new, or after
 * KEEP_MS (a bounded number a listing). Reading one walks its directory
 * once, the files' `stat` giving both the bytes and each shard's signature,
 * so a month whose files have not changed costs no more (see
 * TransientShards.facts). A website whose directory cannot be listed is left
 * out, one with a shard that cannot be read is listed with the others; both
 * are named in the listing's `faults`.
 */
export class WebsiteList {
  private readonly entries = new Map<string, { entry: WebsiteEntry; at: number }>();
  private readonly written = new Set<string>();

  constructor(private readonly shards: TransientShards) {}

  /** The websites written to since they were last read. */
  touch(websites: readonly string[]): void {
    for (const website of websites) this.written.add(website);
  }

  list(): { list: WebsiteEntry[]; faults: string[] } {
    const faults: string[] = [];
    const names = this.shards.websites();
    const now = Date.now();
    const expired = names
      .filter((name) => now - (this.entries.get(name)?.at ?? now) > KEEP_MS)
      .sort((a, b) => this.entries.get(a)!.at - this.entries.get(b)!.at)
      .slice(0, REFRESH_AT_MOST);
    const due = new Set([...names.filter((name) => !this.entries.has(name) || this.written.has(name)), ...expired]);
    for (const name of due) this.read(name, faults);
    const listed = new Set(names);
    for (const name of this.entries.keys()) if (!listed.has(name)) this.entries.delete(name);
    return { list: names.flatMap((name) => this.entries.get(name)?.entry ?? []), faults };
  }

  /** Reads up to `count` websites not known yet (after start, between queries); whether all are known. */
  warm(count: number): boolean {
    const unknown = this.shards.websites().filter((name) => !this.entries.has(name));
    for (const name of unknown.slice(0, count)) this.read(name, []);
    return unknown.length <= count;
  }

  private read(website: string, faults: string[]): void {
    this.written.delete(website);
    const entry = readWebsite(this.shards, website, faults);
    if (entry) this.entries.set(website, { entry, at: Date.now() });
    else this.entries.delete(website);
  }
}

/** One website's entry, or none when its directory is gone or cannot be listed. */
function readWebsite(shards: TransientShards, website: string, faults: string[]): WebsiteEntry | undefined {
  const dir = websiteDir(shards.root, website);
  let walked: Walked;
  try {
    walked = walk(dir);
  } catch (error) {
    // Deleted since the root was listed: nothing to say.
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") faults.push(`website directory ${dir}: ${(error as Error).message}`);
    return undefined;
  }
  let events = 0;
  let first = Infinity;
  let last = -Infinity;
  let summarized = false;
  for (const [month, { main, wal }] of walked.shards) {
    try {
      const signature = signatureOf(main, wal);
      // A month not known as its files are now has its summary written first, which changes the bytes.
      summarized ||= !shards.knows(website, month, signature);
      const facts = shards.facts(website, month, signature);
      events += facts.rows;
      if (facts.firstTime !== null) first = Math.min(first, facts.firstTime);
      if (facts.lastTime !== null) last = Math.max(last, facts.lastTime);
    } catch (error) {
      if (error instanceof ShardGone) continue;
      if (!(error instanceof ShardFault)) throw error;
      faults.push(error.message);
    }
  }
  const time = (seconds: number) => (Number.isFinite(seconds) ? formatTime(seconds) : null);
  const bytes = summarized ? walkOrNothing(dir) : walked.bytes;
  return { website, firstTime: time(first), lastTime: time(last), events, bytes };
}

interface Walked {
  bytes: number;
  /** Each month's shard and WAL, by month. */
  shards: Map<string, { main: BigIntStats; wal?: BigIntStats }>;
}

function walkOrNothing(dir: string): number {
  try {
    return walk(dir).bytes;
  } catch {
    return 0;
  }
}

/** The bytes of every file under a website's directory, and the `stat` of each month's shard and WAL on the way. */
function walk(dir: string): Walked {
  const walked: Walked = { bytes: 0, shards: new Map() };
  const visit = (path: string, month: string | undefined) => {
    const stats = new Map<string, BigIntStats>();
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) visit(child, path === dir && isMonthName(entry.name) ? entry.name : undefined);
      else if (entry.isFile()) {
        const stat = statSync(child, { bigint: true, throwIfNoEntry: false });
        if (stat) stats.set(entry.name, stat);
      }
    }
    for (const stat of stats.values()) walked.bytes += Number(stat.size);
    const main = month === undefined ? undefined : stats.get(SHARD_FILE);
    if (month !== undefined && main) walked.shards.set(month, { main, wal: stats.get(`${SHARD_FILE}-wal`) });
  };
  visit(dir, undefined);
  return walked;
}
