import { randomUUID } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, unlinkSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import { monthOf } from "../time";
import { Checkpointer } from "./checkpointer";
import { diskUsage, isDirectory, isMonthName, listShards, monthsInRange, shardPath, websiteDir } from "./layout";
import { WebsiteMoves } from "./moves";
import type { PoolStats, ShardPool } from "./pool";
import type { Shard } from "./shard";
import type { NewVisit, TimeRange } from "./visit";
import { ShardFault } from "./shard-source";
import { isWebsiteName } from "./website";
import { ShardWriter } from "./writer";

/** What became of one shard's part of a write. */
export interface ShardOutcome {
  website: string;
  month: string;
  events: number;
  /** Of `events`, those left out because their id was stored already. */
  duplicates: number;
  /** Set when the shard's transaction failed: none of its events were stored. */
  error?: unknown;
}

/** Where a directory goes to be deleted: a leading dot is never a website's name. */
const DELETING = ".deleting-";

/**
 * The websites under one root directory. Website names reaching this class
 * have been validated at the edge (see `website.ts`).
 */
export class Store {
  private readonly writer: ShardWriter;
  private readonly checkpointer: Checkpointer;
  /** Websites being moved to another node, or moved already: their writes are refused. */
  readonly moves: WebsiteMoves;
  /** Hears of each website once a write to it has settled (the query worker's list of websites is kept until then). */
  onWritten: (website: string) => void = () => {};

  constructor(
    readonly root: string,
    private readonly pool: ShardPool,
  ) {
    if (existsSync(root) && !statSync(root).isDirectory()) throw new Error("it exists and is not a directory");
    mkdirSync(root, { recursive: true });
    this.checkpointer = new Checkpointer();
    this.writer = new ShardWriter(pool, this.checkpointer);
    this.moves = new WebsiteMoves(root);
  }

  hasWebsite(website: string): boolean {
    return isDirectory(websiteDir(this.root, website));
  }

  /** The websites under the root, by name: their directories (anything else there is not one). */
  websites(): string[] {
    return readdirSync(this.root)
      .filter((name) => isWebsiteName(name) && isDirectory(join(this.root, name)))
      .sort();
  }

  /** How many of the month shards that `visits` fall in do not exist yet: what storing them would create. */
  newShards(website: string, visits: readonly { time: number }[]): number {
    let count = 0;
    for (const month of new Set(visits.map((visit) => monthOf(visit.time)))) {
      if (!this.exists(shardPath(this.root, website, month))) count++;
    }
    return count;
  }

  /**
   * Writes each website's visits to their month shards, and settles once
   * every shard has committed or failed. Within a shard it is all or nothing.
   *
   * A shard that is not open costs a file to open and fsyncs to start its
   * WAL (and a new one a directory and more fsyncs): milliseconds, tens of
   * them on a busy disk, where a row costs a microsecond. So rows for open
   * shards are queued at once, and the other shards are written one after
   * another, each in a turn of the event loop of its own (see ShardWriter):
   * a request that creates hundreds of months never holds up the others,
   * nor queues hundreds of slow commits ahead of theirs, for more than one.
   *
   * A website held or moved by a move to another node refuses the whole
   * write (see moves.ts) before any of it is queued.
   */
  async append(groups: readonly (readonly [website: string, visits: NewVisit[]])[]): Promise<ShardOutcome[]> {
    const release = this.moves.admit(groups.map(([website]) => website));
    try {
      const outcomes: Promise<ShardOutcome>[] = [];
      const slow: [string, string, NewVisit[]][] = [];
      for (const [website, visits] of groups) {
        for (const [month, rows] of groupByMonth(visits)) {
          if (this.pool.has(shardPath(this.root, website, month))) outcomes.push(this.write(website, month, rows));
          else slow.push([website, month, rows]);
        }
      }
      for (const [website, month, rows] of slow) outcomes.push(Promise.resolve(await this.write(website, month, rows)));
      const settled = await Promise.all(outcomes);
      for (const website of new Set(settled.map((outcome) => outcome.website))) this.onWritten(website);
      return settled;
    } finally {
      release();
    }
  }

  /**
   * Calls `visit` with each shard of `website` that may hold events in
   * `range`, oldest month first. The one path every query takes to the files.
   */
  months(website: string, range: TimeRange): string[] {
    return monthsInRange(this.root, website, range);
  }

  /**
   * Keeps the service's commits to one month of `website` waiting, while
   * its other shards are written, until the function returned is called:
   * for another thread to write to that shard meanwhile (see ShardWriter).
   * Rows sent meanwhile are queued, and acknowledged once committed after.
   */
  holdWrites(website: string, month: string): () => void {
    return this.writer.hold(shardPath(this.root, website, month));
  }

  /**
   * The handle is the pool's: use it before returning, never across an
   * `await`, or the pool may close it.
   */
  withShard<T>(website: string, month: string, read: (shard: Shard) => T): T {
    const path = shardPath(this.root, website, month);
    try {
      return read(this.pool.acquire(path, false));
    } catch (error) {
      throw new ShardFault(path, error);
    }
  }

  /**
   * Removes the website's months and its directory; false when there was
   * none. A website directory that is a link (see `removeTree`) loses its
   * months and the link.
   */
  deleteWebsite(website: string): boolean {
    const dir = websiteDir(this.root, website);
    if (!isDirectory(dir)) return false;
    this.pool.closeUnder(dir + sep);
    removeTree(dir, isWebsiteEntry);
    return true;
  }

  /**
   * Deletes every month shard older than `month` (YYYY-MM). A month that
   * cannot be deleted is kept, and named in `failed`, so one bad directory
   * never stops the others (nor start-up).
   */
  dropMonthsBefore(month: string): { dropped: number; failed: { path: string; error: unknown }[] } {
    const failed: { path: string; error: unknown }[] = [];
    let dropped = 0;
    for (const shard of listShards(this.root).filter((shard) => shard.month < month)) {
      const dir = dirname(shard.path);
      try {
        this.pool.closeUnder(dir + sep);
        removeTree(dir, isMonthEntry);
        dropped++;
      } catch (error) {
        failed.push({ path: dir, error });
      }
    }
    return { dropped, failed };
  }

  /**
   * Deletes what a process that died mid-delete left behind, in the root
   * (websites) and in each website (months); only once the root is ours (see lock.ts).
   */
  removeLeftovers(): void {
    for (const name of readdirSync(this.root)) {
      const path = join(this.root, name);
      if (name.startsWith(DELETING)) finishRemoval(path, isWebsiteEntry);
      else if (isWebsiteName(name) && isDirectory(path)) {
        for (const month of readableEntries(path)) {
          if (month.startsWith(DELETING)) finishRemoval(join(path, month), isMonthEntry);
        }
      }
    }
  }

  private write(website: string, month: string, rows: NewVisit[]): Promise<ShardOutcome> {
    return this.writer.write(shardPath(this.root, website, month), rows).then(
      (duplicates) => ({ website, month, events: rows.length, duplicates }),
      (error: unknown) => ({ website, month, events: rows.length, duplicates: 0, error }),
    );
  }

  private exists(path: string): boolean {
    return this.pool.has(path) || existsSync(path);
  }

  poolStats(): PoolStats {
    return this.pool.stats();
  }

  /** Bytes on disk under the root. */
  diskBytes(): number {
    return diskUsage(this.root);
  }

  /**
   * Commits what is queued, then closes every shard, the checkpoints' worker
   * stopped first: the writer's connection is then each shard's last.
   */
  async close(): Promise<void> {
    this.writer.flush();
    await this.checkpointer.close();
    this.pool.closeAll();
  }
}

/** What the service makes in a website directory: its months, and months being deleted. */
function isWebsiteEntry(name: string): boolean {
  return isMonthName(name) || name.startsWith(DELETING);
}

/** What the service makes in a month directory: the shard, its summary, and their journals. */
function isMonthEntry(name: string): boolean {
  return /^(analytics|summary)\.db(-wal|-shm|-journal)?$/.test(name);
}

/**
 * Takes `dir` out of the tree in one step, then deletes it. The query
 * worker may be opening a summary or a shard under it at that moment:
 * SQLite makes the files it opens, which would leave a stray file behind,
 * or keep a directory being deleted from going. After the step, the old
 * paths lead nowhere.
 *
 * The step is a rename to `.deleting-<uuid>` beside `dir`, in its own
 * parent, so it never crosses a file system: a website directory may be a
 * link to another disk, and its months live there.
 */
function removeTree(dir: string, owns: (name: string) => boolean): void {
  const doomed = join(dirname(dir), DELETING + randomUUID());
  renameSync(dir, doomed);
  finishRemoval(doomed, owns);
}

/**
 * A directory is deleted whole. A link (the rename moved the link, not what
 * it leads to) has the entries it leads to that the service made deleted,
 * then goes itself: the directory it points at is the operator's (a mount
 * point, with its lost+found) and is left, with anything else in it.
 */
function finishRemoval(doomed: string, owns: (name: string) => boolean): void {
  if (!lstatSync(doomed).isSymbolicLink()) return rmSync(doomed, { recursive: true, force: true });
  if (isDirectory(doomed)) {
    for (const name of readdirSync(doomed)) {
      if (owns(name)) rmSync(join(doomed, name), { recursive: true, force: true });
    }
  }
  unlinkSync(doomed);
}

/**
 * A website directory's entries; none when it cannot be read (another
 * user's, mode 0700): nothing could be removed from it either, and one such
 * directory must not stop the service from starting.
 */
function readableEntries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function groupByMonth(visits: NewVisit[]): Map<string, NewVisit[]> {
  const months = new Map<string, NewVisit[]>();
  for (const visit of visits) {
    const month = monthOf(visit.time);
    const rows = months.get(month);
    if (rows) rows.push(visit);
    else months.set(month, [visit]);
  }
  return months;
}
