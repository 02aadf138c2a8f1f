import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { AppError } from "../../errors";
import { shardPath } from "../../store/layout";
import type { Priority, ShardCopier } from "../../store/shard-copier";

/** Where a copy waits to be sent: in the root, so on the shard's own disk; a leading dot is never a website. */
export const EXPORT_PREFIX = ".export-";
const CHUNK_BYTES = 1024 * 1024;

/** The headers that say what a copy holds, checked by the node that receives it. */
export const COUNT_HEADERS = { events: "x-shard-events", ids: "x-shard-event-ids", bytes: "x-shard-bytes" } as const;

/** Removes copies a crash left before they were sent; only once the root is ours. */
export function removeExportLeftovers(root: string): void {
  for (const name of readdirSync(root)) {
    if (name.startsWith(EXPORT_PREFIX)) rmSync(join(root, name), { force: true });
  }
}

/**
 * `GET /_cluster/export/:website/:month`: a consistent copy of one month,
 * made by `VACUUM INTO` off the event loop while the shard keeps taking
 * writes, and streamed as the file. The copy is unlinked as soon as it is
 * open, so nothing stays behind however the download ends.
 */
export async function exportMonth(root: string, copier: ShardCopier, website: string, month: string, priority: Priority): Promise<Response> {
  const source = shardPath(root, website, month);
  if (!existsSync(source)) throw new AppError("InvalidDatabaseName", `There is no month ${month} of "${website}" on this node.`);
  const copy = join(root, `${EXPORT_PREFIX}${randomUUID()}.db`);
  let file;
  let counts;
  try {
    counts = await copier.copy(source, copy, priority);
    file = await open(copy, "r");
  } finally {
    rmSync(copy, { force: true });
  }
  const { size } = await file.stat();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const buffer = new Uint8Array(CHUNK_BYTES);
      const { bytesRead } = await file.read(buffer, 0, CHUNK_BYTES, null);
      if (bytesRead > 0) return controller.enqueue(buffer.subarray(0, bytesRead));
      await file.close();
      controller.close();
    },
    async cancel() {
      await file.close();
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "application/vnd.sqlite3",
      // A streamed body goes out chunked, without Content-Length: the size travels in a header of its own.
      [COUNT_HEADERS.bytes]: String(size),
      [COUNT_HEADERS.events]: String(counts.events),
      [COUNT_HEADERS.ids]: String(counts.ids),
    },
  });
}
