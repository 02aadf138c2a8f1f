/**
 * Work that touches many shards (creating them, committing to them, closing
 * them) costs a few fsyncs a shard. Done in one go it would hold the event
 * loop, and every other request, for as long as all of it takes; so it lets
 * the event loop run whenever it has held it for a slice.
 */
export const SLICE_MS = 10;

/** Resolves on a later turn of the event loop, once waiting I/O (other requests) has had its turn. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
