import { Elysia } from "elysia";
import { AppError } from "../../errors";
import { readJsonBody } from "../../http/body";
import { websiteParam } from "../../http/website-param";
import { isMonthName } from "../../store/layout";
import type { ShardCopier, ShardCounts } from "../../store/shard-copier";
import type { Store } from "../../store/store";
import { exportMonth } from "./export";
import type { NodeClient } from "./client";
import type { ImportArea } from "./import";
import type { WebsiteMover } from "./move";
import type { RebalanceGuard } from "./rebalancing";
import { clusterWebsites, NODE_SCOPE_HEADER } from "./websites";

export interface ClusterDeps {
  nodeName: string;
  store: Store;
  copier: ShardCopier;
  imports: ImportArea;
  mover: WebsiteMover;
  rebalance: RebalanceGuard;
  /** Drops a website's cached answers: its files were replaced or removed. */
  forget(website: string): Promise<void>;
  /** Every node's URL (--nodes): `GET /_websites` then lists them all. */
  nodes: string[];
  client: NodeClient;
  concurrency: number;
}

/** Bodies of the internal routes are small: a URL or a list of months. */
const MAX_BODY = 1024 * 1024;

/**
 * The routes a cluster needs beside the contract's, behind the same
 * credentials: who answers for a website (`GET /:website/_node`, asked
 * through the router), and the internal `/_cluster/…` routes that move a
 * website between nodes (see move.ts) and list this node's own websites.
 *
 * Registered before the other routes, it also refuses what a move forbids:
 * writes (and DELETE) to a website being moved (503) or moved away (421),
 * and reads of one moved away whose copy here is gone (421); until then its
 * frozen copy still answers reads, exactly as its new owner would. While a
 * rebalance runs, a website new here is refused too unless this node will
 * own it (see rebalancing.ts). With `--nodes`, it answers `GET /_websites`
 * for the whole cluster (see websites.ts); a node asking for this node's own
 * list says so in a header.
 */
export function clusterRoutes({ nodeName, store, copier, imports, mover, rebalance, forget, nodes, client, concurrency }: ClusterDeps) {
  const website = websiteParam;
  const body = async (request: Request) => {
    const parsed = await readJsonBody(request, MAX_BODY);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new AppError("InvalidRequest", "body: expected a JSON object.");
    return parsed as Record<string, unknown>;
  };
  const raw = { parse: "none" } as const;

  return new Elysia({ name: "cluster" })
    .onBeforeHandle({ as: "global" }, ({ params, request, route }) => {
      if (route === "/_websites" && nodes.length > 0 && request.headers.get(NODE_SCOPE_HEADER) !== "node") {
        return clusterWebsites(nodes, client, concurrency);
      }
      if (route.startsWith("/_cluster/") || route === "/:website/_node") return;
      const name = (params as Record<string, string | undefined> | undefined)?.website;
      if (name === undefined) return;
      if (request.method === "GET" || request.method === "HEAD") {
        if (store.moves.movedTo(name) !== undefined && !store.hasWebsite(name)) store.moves.refuseMoved(name);
        return;
      }
      store.moves.refuseWrite(name);
      if (rebalance.plannedRouter !== undefined && request.method === "POST" && !store.hasWebsite(name)) return rebalance.refuseNewWebsite(name);
    })
    .get("/:website/_node", ({ params, request }) => ({ website: website(params.website, request), node: nodeName }))
    .get("/_cluster/websites", () => ({ list: store.websites().filter((name) => store.moves.movedTo(name) === undefined) }))
    .get("/_cluster/rebalance", () => ({ router: rebalance.plannedRouter ?? null }))
    .put(
      "/_cluster/rebalance",
      async ({ request }) => {
        const router = url((await body(request)).router, "router");
        rebalance.start(router);
        return { router };
      },
      raw,
    )
    .delete("/_cluster/rebalance", () => {
      rebalance.finish();
      return { router: null };
    })
    .get("/_cluster/moved", () => ({
      list: store.moves.list().map(({ website, to }) => ({ website, to, copy: store.hasWebsite(website) })),
    }))
    .delete("/_cluster/moved/:website", async ({ params, request }) => {
      const name = website(params.website, request);
      return { website: name, removed: await mover.dropCopy(name) };
    })
    .post(
      "/_cluster/move/:website",
      async ({ params, request }) => {
        const name = website(params.website, request);
        const { to, self } = await body(request);
        return mover.move(name, url(to, "to"), url(self, "self"));
      },
      raw,
    )
    .get("/_cluster/export/:website/:month", ({ params, request }) => {
      const name = website(params.website, request);
      if (!isMonthName(params.month)) throw new AppError("InvalidParameter", `month: "${params.month}" is not a month (YYYY-MM).`);
      return exportMonth(store.root, copier, name, params.month, store.moves.isHeld(name) ? "held" : "background");
    })
    .post(
      "/_cluster/import/:website/:month",
      async ({ params, request }) => {
        const name = website(params.website, request);
        const { from, held } = await body(request);
        return { website: name, month: params.month, ...(await imports.pull(name, params.month, url(from, "from"), held === true ? "held" : "background")) };
      },
      raw,
    )
    .put(
      "/_cluster/import/:website",
      async ({ params, request }) => {
        const name = website(params.website, request);
        const installed = await imports.install(name, monthCounts((await body(request)).months));
        await forget(name);
        return { website: name, ...installed };
      },
      raw,
    )
    .delete("/_cluster/import/:website", ({ params, request }) => {
      const name = website(params.website, request);
      imports.abort(name);
      return { website: name, state: imports.state(name) };
    })
    .get("/_cluster/import/:website", ({ params, request }) => {
      const name = website(params.website, request);
      return { website: name, state: imports.state(name) };
    });
}

function url(value: unknown, field: string): string {
  if (typeof value === "string" && /^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/.test(value)) return value.replace(/\/+$/, "");
  throw new AppError("InvalidRequest", `${field}: expected a node's URL such as http://10.0.0.1:7070, not ${JSON.stringify(value)}.`);
}

function monthCounts(value: unknown): Record<string, ShardCounts> {
  const fail = () => new AppError("InvalidRequest", 'months: expected {"YYYY-MM": {"events": N, "ids": N}, …}.');
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw fail();
  const months: Record<string, ShardCounts> = {};
  for (const [month, counts] of Object.entries(value)) {
    const { events, ids } = (counts ?? {}) as Record<string, unknown>;
    if (!isMonthName(month) || !Number.isSafeInteger(events) || !Number.isSafeInteger(ids)) throw fail();
    months[month] = { events: events as number, ids: ids as number };
  }
  return months;
}
