import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** What a cached answer was computed from: each shard's version, by month. */
export type Versions = Record<string, string>;

interface Entry {
  key: string;
  versions: Versions;
  body: string;
}

/**
 * Answers on disk, one file each under `<dir>/<website>/`, valid only while
 * the shards they came from are unchanged: an entry records each shard's
 * version and is used only when every one still matches, so a write to a
 * shard, a backfill into an old month, a dropped month or a re-created
 * website all make it a miss, across restarts too. A file that is missing,
 * unreadable or not what was written is a miss as well, never an answer.
 *
 * The directory is kept under `maxBytes` by deleting the least recently used
 * files (their modification time is touched on every hit).
 */
export class ResultCache {
  private bytes = 0;

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch {
      // An unwritable cache directory only costs time: every query is then computed.
    }
    this.bytes = this.files().reduce((sum, file) => sum + file.size, 0);
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  get(website: string, key: string, versions: Versions): string | undefined {
    const path = this.path(website, key);
    let entry: Entry;
    try {
      entry = JSON.parse(readFileSync(path, "utf8")) as Entry;
    } catch {
      return undefined;
    }
    if (entry?.key !== key || typeof entry.body !== "string" || !sameVersions(entry.versions, versions)) return undefined;
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // Removed meanwhile: the answer read is still right.
    }
    return entry.body;
  }

  put(website: string, key: string, versions: Versions, body: string): void {
    const path = this.path(website, key);
    const text = JSON.stringify({ key, versions, body } satisfies Entry);
    try {
      mkdirSync(join(this.dir, website), { recursive: true });
      const previous = statSync(path, { throwIfNoEntry: false })?.size ?? 0;
      // Written whole, then renamed: a reader never sees half a file.
      const temporary = `${path}.${process.pid}.tmp`;
      writeFileSync(temporary, text);
      renameSync(temporary, path);
      // Bytes, as the budget is of disk: a non-ASCII character takes up to four.
      this.bytes += Buffer.byteLength(text) - previous;
    } catch {
      // A cache that cannot be written only costs the next query its time.
      return;
    }
    if (this.bytes > this.maxBytes) this.evict();
  }

  /** Forgets every answer about `website` (it was deleted). */
  forget(website: string): void {
    rmSync(join(this.dir, website), { recursive: true, force: true });
    this.bytes = this.files().reduce((sum, file) => sum + file.size, 0);
  }

  private path(website: string, key: string): string {
    return join(this.dir, website, `${Bun.hash(key).toString(36)}.json`);
  }

  /** Deletes the least recently used files until a tenth of the budget is free. */
  private evict(): void {
    const files = this.files().sort((a, b) => a.used - b.used);
    let bytes = files.reduce((sum, file) => sum + file.size, 0);
    for (const file of files) {
      if (bytes <= this.maxBytes * 0.9) break;
      rmSync(file.path, { force: true });
      bytes -= file.size;
    }
    this.bytes = bytes;
  }

  private files(): { path: string; size: number; used: number }[] {
    const files: { path: string; size: number; used: number }[] = [];
    let entries;
    try {
      entries = readdirSync(this.dir, { withFileTypes: true, recursive: true });
    } catch {
      return files;
    }
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      const stat = statSync(path, { throwIfNoEntry: false });
      if (stat) files.push({ path, size: stat.size, used: stat.mtimeMs });
    }
    return files;
  }
}

function sameVersions(cached: unknown, current: Versions): boolean {
  if (typeof cached !== "object" || cached === null) return false;
  const months = Object.keys(current);
  const cachedMonths = Object.keys(cached);
  return cachedMonths.length === months.length && months.every((month) => (cached as Versions)[month] === current[month]);
}
