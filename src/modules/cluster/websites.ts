import { AppError } from "../../errors";
import { describeAnswer, eachBounded, type NodeClient } from "./client";

/** Asks a node for its own websites only, not the cluster's: how a node answering for the cluster asks the others. */
export const NODE_SCOPE_HEADER = "x-websites-scope";

/** One website of `GET /_websites`, as the query module answers it. */
interface WebsiteEntry {
  website: string;
  firstTime: string | null;
  lastTime: string | null;
  events: number;
  bytes: number;
}

/**
 * `GET /_websites` on a node started with `--nodes`: every node's own list,
 * merged. A website a node has given away but not yet removed (see move.ts)
 * is left out of that node's list, so a move never shows a website twice; a
 * website really held by two nodes (written behind a misconfigured router)
 * is listed once with what both hold. A node that does not answer fails the
 * whole answer (502, naming it): a list missing a node's websites would look
 * complete.
 */
export async function clusterWebsites(nodes: readonly string[], client: NodeClient, concurrency: number): Promise<{ list: WebsiteEntry[] }> {
  const merged = new Map<string, WebsiteEntry>();
  const down: string[] = [];
  await eachBounded(nodes, concurrency, async (url) => {
    let entries: WebsiteEntry[];
    let moved: Set<string>;
    try {
      const [own, away] = await Promise.all([
        client.json(`${url}/_websites`, { headers: { [NODE_SCOPE_HEADER]: "node" } }),
        client.json(`${url}/_cluster/moved`),
      ]);
      if (own.status !== 200 || away.status !== 200) throw new Error(describeAnswer(own.status !== 200 ? own : away));
      entries = own.body.list;
      moved = new Set((away.body.list as { website: string; copy: boolean }[]).map((m) => m.website));
    } catch (error) {
      down.push(`${url} (${(error as Error).message})`);
      return;
    }
    for (const entry of entries) {
      if (moved.has(entry.website)) continue;
      const known = merged.get(entry.website);
      merged.set(entry.website, known ? combine(known, entry) : entry);
    }
  });
  if (down.length > 0) {
    throw new AppError("NodeUnavailable", `Cannot list the websites of every node: ${down.join(", ")} did not answer. Try again once every node in --nodes is up.`);
  }
  return { list: Array.from(merged.values()).sort((a, b) => (a.website < b.website ? -1 : a.website > b.website ? 1 : 0)) };
}

function combine(a: WebsiteEntry, b: WebsiteEntry): WebsiteEntry {
  const earliest = (x: string | null, y: string | null) => (x === null ? y : y === null ? x : x < y ? x : y);
  const latest = (x: string | null, y: string | null) => (x === null ? y : y === null ? x : x > y ? x : y);
  return { website: a.website, firstTime: earliest(a.firstTime, b.firstTime), lastTime: latest(a.lastTime, b.lastTime), events: a.events + b.events, bytes: a.bytes + b.bytes };
}
