import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AppError } from "../errors";
import { syncPath } from "./durable";
import { isWebsiteName } from "./website";

/** Where a node keeps the websites it gave away: one small file each, named after the website. */
export const MOVED_DIR = ".moved";

/** How long a client held off by a move is asked to wait before it tries again. */
const RETRY_AFTER_SECONDS = 1;

/**
 * What this node knows of websites moving to another node (see
 * modules/cluster/move.ts). While a website is *held*, writes to it are
 * refused with 503 and a Retry-After, and the writes already admitted are
 * waited for, so that a last copy holds every event acknowledged. Once it
 * has *moved*, this node refuses it with 421 for good: the router sends it
 * elsewhere, and a request that still arrives here must not start a second,
 * partial copy of it. That mark is a file under `<root>/.moved/`, so it
 * survives a restart; it goes only when the website moves back here.
 *
 * Admission is checked when rows are handed to the writer, not when a
 * request arrives: a request that was reading its body when the hold began
 * is refused, never stored behind the last copy.
 */
export class WebsiteMoves {
  private readonly dir: string;
  private readonly moved = new Map<string, string>();
  private readonly held = new Set<string>();
  private readonly inFlight = new Map<string, number>();
  private readonly drained = new Map<string, PromiseWithResolvers<void>>();

  constructor(root: string) {
    this.dir = join(root, MOVED_DIR);
    if (!existsSync(this.dir)) return;
    for (const website of readdirSync(this.dir)) {
      if (isWebsiteName(website)) this.moved.set(website, readFileSync(join(this.dir, website), "utf8").trim());
    }
  }

  /**
   * Refuses the write when a website in it is held or has moved, or else
   * counts it in flight for each of them until `release` (returned) is called.
   */
  admit(websites: readonly string[]): () => void {
    for (const website of websites) this.refuseWrite(website);
    for (const website of websites) this.inFlight.set(website, (this.inFlight.get(website) ?? 0) + 1);
    return () => {
      for (const website of websites) {
        const left = this.inFlight.get(website)! - 1;
        if (left > 0) {
          this.inFlight.set(website, left);
          continue;
        }
        this.inFlight.delete(website);
        this.drained.get(website)?.resolve();
        this.drained.delete(website);
      }
    };
  }

  /** Throws what a write to `website` gets while it is held (503) or after it moved (421). */
  refuseWrite(website: string): void {
    this.refuseMoved(website);
    if (this.held.has(website)) {
      throw new AppError("WebsiteMoving", `"${website}" is being moved to another node; try again in a moment.`, {
        "Retry-After": String(RETRY_AFTER_SECONDS),
      });
    }
  }

  /** Throws 421 when `website` has moved away from this node. */
  refuseMoved(website: string): void {
    const to = this.moved.get(website);
    if (to !== undefined) {
      throw new AppError("WebsiteMoved", `"${website}" has moved to the node ${to}; send it through the router (once it is switched, it sends it there).`);
    }
  }

  /** Refuses new writes to `website`; settles once the writes admitted before have settled. */
  hold(website: string): Promise<void> {
    this.held.add(website);
    if (!this.inFlight.has(website)) return Promise.resolve();
    let waiting = this.drained.get(website);
    if (!waiting) this.drained.set(website, (waiting = Promise.withResolvers<void>()));
    return waiting.promise;
  }

  release(website: string): void {
    this.held.delete(website);
  }

  isHeld(website: string): boolean {
    return this.held.has(website);
  }

  /** The node `website` moved to, if it did. */
  movedTo(website: string): string | undefined {
    return this.moved.get(website);
  }

  /** Every website that moved away, with the node it went to. */
  list(): { website: string; to: string }[] {
    return Array.from(this.moved, ([website, to]) => ({ website, to })).sort((a, b) => (a.website < b.website ? -1 : 1));
  }

  /** Marks `website` as moved to the node `to`, on disk before in memory: once this returns, a restart keeps refusing it. */
  markMoved(website: string, to: string): void {
    mkdirSync(this.dir, { recursive: true });
    const path = join(this.dir, website);
    // A leading dot is never a website's name, so a file a crash left half written is never read as a mark.
    const temporary = join(this.dir, `.${website}.tmp`);
    writeFileSync(temporary, `${to}\n`);
    syncPath(temporary);
    renameSync(temporary, path);
    syncPath(this.dir);
    this.moved.set(website, to);
  }

  /** Forgets that `website` moved away: it has come back, or its move was called off before the new node took it. */
  unmark(website: string): void {
    if (!this.moved.has(website)) return;
    rmSync(join(this.dir, website), { force: true });
    syncPath(this.dir);
    this.moved.delete(website);
  }
}
