/**
 * Runs WAL checkpoints off the main thread (see checkpointer.ts). Each message
 * is a list of shard paths written since the last one. A PASSIVE checkpoint
 * copies what it can without waiting for, or blocking, the writer.
 */
import { Database } from "bun:sqlite";
import { STOP } from "../workers";

declare const self: Worker;

self.onmessage = (message: MessageEvent<string[] | typeof STOP>) => {
  // Between two checkpoints, so no shard is open. (In a worker, process.exit ends the worker alone.)
  if (message.data === STOP) process.exit(0);
  for (const path of message.data) {
    try {
      // create: false — a shard deleted in the meantime must stay deleted.
      const db = new Database(path, { readwrite: true, create: false });
      try {
        db.run("PRAGMA wal_checkpoint(PASSIVE)");
      } finally {
        db.close(true);
      }
    } catch {
      // Deleted or busy: the next write brings it back here, and the writer's
      // own auto-checkpoint remains as a backstop.
    }
  }
};
