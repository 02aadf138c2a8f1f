import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { AppError } from "../../errors";
import { syncPath } from "../../store/durable";
import { isMonthName, SHARD_FILE, websiteDir } from "../../store/layout";
import type { Priority, ShardCopier, ShardCounts } from "../../store/shard-copier";
import type { Store } from "../../store/store";
import { describeAnswer, type NodeClient } from "./client";
import { COUNT_HEADERS } from "./export";

/** Where a website arriving from another node is put together, beside the websites; a leading dot is never one. */
export const IMPORT_PREFIX = ".import-";

export type ImportState = "stored" | "staged" | "none";

/**
 * The receiving side of a move (see move.ts). The months of a website
 * arriving from another node are pulled one by one from that node's export
 * into `<root>/.import-<website>/`, each checked (SQLite's quick check, and
 * the counts the sender gave) before it is kept; once the sender has
 * stopped writing to it and sent the last months, the whole directory is
 * renamed into place in one step. Until then this node does not know the
 * website: nothing answers from a half-copied one.
 */
export class ImportArea {
  /** What each staged month was found to hold when it arrived, while its file stays as it was then. */
  private readonly verified = new Map<string, { counts: ShardCounts; file: string }>();

  constructor(
    private readonly store: Store,
    private readonly copier: ShardCopier,
    private readonly client: NodeClient,
  ) {}

  /** Removes what an import cut short by a crash left behind; only once the root is ours. */
  removeLeftovers(): void {
    for (const name of readdirSync(this.store.root)) {
      if (name.startsWith(IMPORT_PREFIX)) rmSync(join(this.store.root, name), { recursive: true, force: true });
    }
  }

  state(website: string): ImportState {
    if (this.store.hasWebsite(website)) return "stored";
    return existsSync(this.staging(website)) ? "staged" : "none";
  }

  /**
   * Pulls one month of `website` from the node at `from` into the staging
   * directory, replacing an earlier copy of it. `priority` is "held" when
   * the sender holds the website's writes until this is done.
   */
  async pull(website: string, month: string, from: string, priority: Priority): Promise<ShardCounts & { bytes: number }> {
    if (!isMonthName(month)) throw new AppError("InvalidParameter", `month: "${month}" is not a month (YYYY-MM).`);
    this.refuseKnown(website);
    const dir = join(this.staging(website), month);
    mkdirSync(dir, { recursive: true });

    let response: Response;
    try {
      response = await this.client.fetch(`${from}/_cluster/export/${encodeURIComponent(website)}/${month}`);
    } catch (error) {
      throw new AppError("NodeUnavailable", `Cannot reach ${from} to copy ${website}/${month} (${(error as Error).message}).`);
    }
    if (response.status !== 200) {
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Not the service's JSON: the status says enough.
      }
      throw new AppError("NodeUnavailable", `${from} did not send ${website}/${month}: ${describeAnswer({ status: response.status, body, node: undefined, headers: response.headers })}.`);
    }
    const expected = { events: Number(response.headers.get(COUNT_HEADERS.events)), ids: Number(response.headers.get(COUNT_HEADERS.ids)) };
    const declared = Number(response.headers.get(COUNT_HEADERS.bytes));

    const part = join(dir, `${SHARD_FILE}.part`);
    const shard = join(dir, SHARD_FILE);
    await Bun.write(part, response);
    const bytes = statSync(part).size;
    if (bytes !== declared) throw new AppError("NodeUnavailable", `${website}/${month} arrived cut short (${bytes} of ${declared} bytes); try again.`);
    for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(shard + suffix, { force: true });
    renameSync(part, shard);
    let counts: ShardCounts;
    try {
      counts = await this.copier.verify(shard, priority);
    } catch (error) {
      throw new AppError("NodeUnavailable", `${website}/${month} arrived damaged (${(error as Error).message}); try again.`);
    }
    if (counts.events !== expected.events || counts.ids !== expected.ids) {
      throw new AppError("NodeUnavailable", `${website}/${month} arrived with ${counts.events} events and ${counts.ids} ids where ${from} sent ${expected.events} and ${expected.ids}; try again.`);
    }
    this.verified.set(shard, { counts, file: fileSignature(shard) });
    return { ...counts, bytes };
  }

  /**
   * Makes the staged copy the website, once it holds exactly `months` with
   * exactly those counts (the sender's, taken while it held the website's
   * writes); a staged month the sender no longer has is dropped first.
   */
  async install(website: string, months: Record<string, ShardCounts>): Promise<{ months: number; events: number }> {
    this.refuseKnown(website);
    const staging = this.staging(website);
    const wanted = Object.keys(months);
    if (wanted.length > 0 && !existsSync(staging)) throw new AppError("Conflict", `Nothing of "${website}" has been copied here; copy its months first.`);
    mkdirSync(staging, { recursive: true });
    for (const month of readdirSync(staging)) {
      if (!Object.hasOwn(months, month)) rmSync(join(staging, month), { recursive: true, force: true });
    }
    let events = 0;
    for (const month of wanted) {
      const expected = months[month]!;
      const path = join(staging, month, SHARD_FILE);
      if (!isMonthName(month) || !existsSync(path)) throw new AppError("Conflict", `${website}/${month} has not been copied here; copy it first.`);
      const known = this.verified.get(path);
      const counts = known?.file === fileSignature(path) ? known.counts : await this.copier.count(path, "held");
      if (counts.events !== expected.events || counts.ids !== expected.ids) {
        throw new AppError("Conflict", `${website}/${month} here holds ${counts.events} events and ${counts.ids} ids, not ${expected.events} and ${expected.ids}; copy it again.`);
      }
      events += counts.events;
    }
    this.refuseKnown(website);
    renameSync(staging, websiteDir(this.store.root, website));
    this.forgetStaged(website);
    syncPath(this.store.root);
    // It may have moved away from here once; it is back.
    this.store.moves.unmark(website);
    return { months: wanted.length, events };
  }

  abort(website: string): void {
    rmSync(this.staging(website), { recursive: true, force: true });
    this.forgetStaged(website);
  }

  private forgetStaged(website: string): void {
    const prefix = this.staging(website) + "/";
    for (const path of this.verified.keys()) if (path.startsWith(prefix)) this.verified.delete(path);
  }

  private staging(website: string): string {
    return join(this.store.root, IMPORT_PREFIX + website);
  }

  private refuseKnown(website: string): void {
    if (this.store.hasWebsite(website)) {
      throw new AppError("Conflict", `This node has "${website}" already; a move never overwrites a website (remove one copy first).`);
    }
  }
}

/** A file as it stands: the same path, inode, size and change time mean nothing was written to it since. */
function fileSignature(path: string): string {
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat ? `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}` : "";
}
