import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AppError } from "../../errors";
import { syncPath } from "../../store/durable";
import type { NodeClient } from "./client";

/** Where a node keeps the router of a rebalance in progress, so that a restart does not forget it. */
const FILE = ".rebalancing";

/**
 * A rebalance plans the moves of the websites that exist when it starts. A
 * website first written during the rebalance would be created on its old
 * owner, and once the router is switched its new owner would start a second
 * copy of it. So while a rebalance runs, a node asks the rebalance's router
 * (the one with the new list of nodes) who will own a website it does not
 * have yet, and refuses its writes with 421 unless that is this node: they
 * go to the new owner once the router is switched, as the moved websites'
 * writes do. The answers are kept for the rebalance's duration.
 */
export class RebalanceGuard {
  private router: string | undefined;
  private readonly owners = new Map<string, string>();

  constructor(
    private readonly root: string,
    private readonly nodeName: string,
    private readonly client: NodeClient,
  ) {
    const path = join(root, FILE);
    if (existsSync(path)) this.router = readFileSync(path, "utf8").trim() || undefined;
  }

  get plannedRouter(): string | undefined {
    return this.router;
  }

  /** From now on (and after a restart), new websites are checked against `router`. */
  start(router: string): void {
    const path = join(this.root, FILE);
    const temporary = `${path}.tmp`;
    writeFileSync(temporary, `${router}\n`);
    syncPath(temporary);
    renameSync(temporary, path);
    syncPath(this.root);
    this.router = router;
    this.owners.clear();
  }

  finish(): void {
    rmSync(join(this.root, FILE), { force: true });
    syncPath(this.root);
    this.router = undefined;
    this.owners.clear();
  }

  /** Throws 421 when a rebalance runs and the website, new here, will belong to another node. */
  async refuseNewWebsite(website: string): Promise<void> {
    const router = this.router;
    if (router === undefined) return;
    let owner = this.owners.get(website);
    if (owner === undefined) {
      try {
        const answer = await this.client.json(`${router}/${encodeURIComponent(website)}/_node`);
        owner = answer.node;
      } catch {
        owner = undefined;
      }
      if (owner === undefined) {
        throw new AppError("WebsiteMoving", `"${website}" is new here while the cluster is rebalanced, and the new router (${router}) does not say who will own it; try again in a moment.`, {
          "Retry-After": "1",
        });
      }
      this.owners.set(website, owner);
    }
    if (owner !== this.nodeName) {
      throw new AppError("WebsiteMoved", `"${website}" will belong to the node ${owner} once the router is switched (a rebalance is in progress); send it through the router then.`);
    }
  }
}
