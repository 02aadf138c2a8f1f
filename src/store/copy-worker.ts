/**
 * Copies and counts shards off the main thread (see shard-copier.ts): a
 * `VACUUM INTO` of a month of a million events takes seconds, and counting
 * one, tens of milliseconds, which the event loop must not wait for.
 */
import { Database } from "bun:sqlite";
import { countEventIds } from "./event-ids";
import type { CopyReply, CopyRequest, ShardCounts } from "./shard-copier";

declare const self: Worker;

self.onmessage = ({ data }: MessageEvent<CopyRequest>) => {
  try {
    reply({ id: data.id, counts: run(data) });
  } catch (error) {
    reply({ id: data.id, error: (error as Error).message });
  }
};

function run(request: CopyRequest): ShardCounts {
  switch (request.kind) {
    case "copy":
      // One read transaction: the copy is the shard as it stood at one instant, every commit before it included.
      withShard(request.source, (db) => db.prepare("VACUUM INTO ?").run(request.target));
      return withShard(request.target, counts);
    case "count":
      return withShard(request.path, counts);
    case "verify":
      return withShard(request.path, (db) => {
        const problems = db.query<{ quick_check: string }, []>("PRAGMA quick_check").all().filter((row) => row.quick_check !== "ok");
        if (problems.length > 0) throw new Error(`damaged: ${problems.slice(0, 3).map((row) => row.quick_check).join("; ")}`);
        return counts(db);
      });
  }
}

/** Writable but never created: SQLite recovers a shard a killed writer left, and a missing one stays missing. */
function withShard<T>(path: string, use: (db: Database) => T): T {
  const db = new Database(path, { readwrite: true, create: false });
  try {
    db.run("PRAGMA busy_timeout = 5000");
    return use(db);
  } finally {
    db.close(true);
  }
}

function counts(db: Database): ShardCounts {
  const events = db.query<{ n: number }, []>("SELECT count(*) AS n FROM visits").get()!.n;
  return { events, ids: countEventIds(db) };
}

function reply(message: CopyReply): void {
  self.postMessage(message);
}
