/**
 * The erasure worker: scans a shard for a visitor's rows off the event loop
 * (a second or so a million rows), then, when told to, once the main thread
 * holds its own writes to that shard (see eraser.ts), deletes them with the
 * visitor's rows added since. One shard at a time: between a scan and its
 * commit, nothing else is asked.
 */
import { existsSync } from "node:fs";
import { ShardErasure } from "../../store/rewrite";
import { type Visitor, visitorMatcher } from "./visitor";

declare const self: Worker;

export type EraseWork = { scan: { path: string; visitor: Visitor } } | { commit: true };

export type EraseRequest = EraseWork & { id: number };

/** `found`: after a scan, how many of the visitor's events it found, or null for a shard gone; `removed`: after a commit. */
export type EraseReply = { id: number; found: number | null } | { id: number; removed: number } | { id: number; error: string };

let scanned: ShardErasure | undefined;

self.onmessage = ({ data }: MessageEvent<EraseRequest>) => {
  try {
    if ("scan" in data) {
      const { path, visitor } = data.scan;
      scanned?.close();
      scanned = undefined;
      // A month deleted since it was listed (its website, or by retention) has nothing left to erase.
      if (existsSync(path)) scanned = ShardErasure.scan(path, visitorMatcher(visitor), true);
      reply({ id: data.id, found: scanned?.found ?? null });
    } else {
      const erasure = scanned;
      scanned = undefined;
      // A worker started again after a failure has no scan: the caller must not take that for "none".
      if (erasure === undefined) throw new Error("no shard was scanned for this erasure");
      reply({ id: data.id, removed: erasure.commit() });
    }
  } catch (error) {
    reply({ id: data.id, error: (error as Error).message });
  }
};

function reply(message: EraseReply): void {
  self.postMessage(message);
}
