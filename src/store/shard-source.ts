import { existsSync, readdirSync } from "node:fs";
import { join, sep } from "node:path";
import { isDirectory, listShards, monthsInRange, shardPath, websiteDir, type ShardLocation } from "./layout";
import { type FileSignature, ShardReader, shardSignature } from "./shard-reader";
import { type MonthFacts, MonthSummary, type OpenOptions } from "./summary";
import type { TimeRange } from "./visit";
import { isWebsiteName } from "./website";

/**
 * Shards opened for one read and closed right after, read-only. The query
 * worker reads this way, so it never holds files beyond what one query
 * needs, and the pool's bound (--connections) stays the service's.
 */
export class TransientShards {
  /** Shards whose summary was found to agree with them in this process (see MonthSummary). */
  private readonly trusted = new Set<string>();
  /** What each shard's summary knows of it, while the shard's files stay as they were when it was read. */
  private readonly known = new Map<string, { signature: string; facts: MonthFacts }>();
  /** During a task (see `task`), the summaries it opened, by shard path. */
  private kept: Map<string, MonthSummary> | undefined;

  constructor(readonly root: string) {}

  hasWebsite(website: string): boolean {
    return isDirectory(websiteDir(this.root, website));
  }

  /** The website's months that overlap `range`; none once it is deleted. */
  months(website: string, range: TimeRange): string[] {
    try {
      return monthsInRange(this.root, website, range);
    } catch (error) {
      if (!this.hasWebsite(website)) return [];
      throw new ShardFault(websiteDir(this.root, website), error, "website directory");
    }
  }

  /** Every shard under the root; `unreadable` hears of website directories that cannot be listed. */
  all(unreadable: (dir: string, error: Error) => void): ShardLocation[] {
    return listShards(this.root, unreadable);
  }

  /** Every website under the root, by name (a website's directory may be a link to one elsewhere). */
  websites(): string[] {
    return readdirSync(this.root, { withFileTypes: true })
      .filter((entry) => isWebsiteName(entry.name) && (entry.isDirectory() || (entry.isSymbolicLink() && isDirectory(join(this.root, entry.name)))))
      .map((entry) => entry.name)
      .sort();
  }

  /**
   * Runs one task (a query) with each month's summary opened once, and
   * closed when the task ends: a month's version, which keys the cached
   * answer, and the answer itself then come from one open summary, as of
   * one watermark. Opening a summary whose shard changed in the last
   * moments costs half a millisecond (see FileSignature), which a query of
   * a year paid twice a month.
   */
  task<T>(run: () => T): T {
    this.kept = new Map();
    try {
      return run();
    } finally {
      for (const summary of this.kept.values()) summary.close();
      this.kept = undefined;
    }
  }

  withShard<T>(website: string, month: string, read: (shard: ShardReader) => T): T {
    return this.use(website, month, (path) => ShardReader.open(path), read);
  }

  /**
   * Runs `read` on the month's summary, first brought up to date with its
   * shard (or by `maxRows` of its new rows). What a summary caught up knows
   * is kept for `facts`.
   */
  withSummary<T>(website: string, month: string, read: (summary: MonthSummary) => T, options: Pick<OpenOptions, "maxRows"> = {}): T {
    // A summary folded only part of the way is not one a task's other reads may use.
    const kept = options.maxRows === undefined ? this.kept : undefined;
    const open = (path: string) => {
      const held = kept?.get(path);
      if (held) return held;
      const summary = MonthSummary.open(path, { ...options, trusted: this.trusted.has(path) });
      this.trusted.add(path);
      if (summary.caughtUp) this.remember(path, summary.signature, summary.facts);
      kept?.set(path, summary);
      return summary;
    };
    return this.use(website, month, open, read, !kept);
  }

  /** Forgets what is known of a deleted website's shards. */
  forget(website: string): void {
    const prefix = websiteDir(this.root, website) + sep;
    for (const path of [...this.trusted]) if (path.startsWith(prefix)) this.trusted.delete(path);
    for (const path of [...this.known.keys()]) if (path.startsWith(prefix)) this.known.delete(path);
  }

  /**
   * A shard's version: its inode, rewrite count, highest rowid and number of
   * rows. Rows are only appended, which moves the rowid; a website deleted
   * and created again has new files; a rewrite in place (migrate-platforms)
   * counts itself in the file's `user_version`; rows deleted or a backup
   * copied over it change the count or the rowid.
   */
  version(website: string, month: string): string {
    return this.facts(website, month).version;
  }

  /**
   * The month's version, events and first and last event, as its summary
   * knows them once up to date (or, failing a summary, as the shard says),
   * kept while the shard's files stay as they were: an unchanged month costs
   * two `stat` calls.
   */
  facts(website: string, month: string, signature?: FileSignature): MonthFacts {
    const path = shardPath(this.root, website, month);
    if (!signature) {
      try {
        signature = shardSignature(path);
      } catch (error) {
        if (!existsSync(path)) throw new ShardGone(path);
        throw new ShardFault(path, error);
      }
    }
    const known = this.known.get(path);
    if (known?.signature === signature.text) return known.facts;
    try {
      return this.withSummary(website, month, (summary) => summary.facts);
    } catch (error) {
      if (error instanceof ShardGone) throw error;
      // A summary that cannot be written (a full disk, a read-only root): the shard itself says.
      const facts = this.withShard(website, month, (shard) => shard.facts(signature.inode));
      this.remember(path, signature!, facts);
      return facts;
    }
  }

  /** Whether what is known of the month holds for its files as `signature` says they are. */
  knows(website: string, month: string, signature: FileSignature): boolean {
    return this.known.get(shardPath(this.root, website, month))?.signature === signature.text;
  }

  /** Keeps what is known of a shard while its files stay as they are, if they have settled (see FileSignature). */
  private remember(path: string, signature: FileSignature, facts: MonthFacts): void {
    if (signature.settled) this.known.set(path, { signature: signature.text, facts });
    else this.known.delete(path);
  }

  /** Opens the month's handle, reads it, and closes it after unless `close` is false (a task's summary, closed when the task ends). */
  private use<Handle extends { close(): void }, T>(
    website: string,
    month: string,
    open: (path: string) => Handle,
    read: (handle: Handle, path: string) => T,
    close = true,
  ): T {
    const path = shardPath(this.root, website, month);
    let handle: Handle | undefined;
    try {
      handle = open(path);
      return read(handle, path);
    } catch (error) {
      if (!existsSync(path)) throw new ShardGone(path);
      throw new ShardFault(path, error);
    } finally {
      if (close) handle?.close();
    }
  }
}

/** A shard that could not be read (damaged, truncated, unreadable): named, so the log says which file. */
export class ShardFault extends Error {
  override name = "ShardFault";

  constructor(
    readonly path: string,
    cause: unknown,
    /** What the path is: a shard, or a website's directory. */
    readonly what = "shard",
  ) {
    super(`${what} ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** A shard deleted while it was being read (its website or its month): it has no rows to give. */
export class ShardGone extends Error {
  override name = "ShardGone";

  constructor(readonly path: string) {
    super(`shard ${path} was deleted while it was read`);
  }
}
