import { shardPath } from "../../store/layout";
import type { Store } from "../../store/store";
import type { Eraser } from "./eraser";
import type { Visitor } from "./visitor";

/**
 * Deletes the visitor's events from every month of `website`, one month
 * after another, each off the event loop (see Eraser); answers how many.
 */
export async function eraseVisitor(store: Store, eraser: Eraser, website: string, visitor: Visitor): Promise<number> {
  let removed = 0;
  for (const month of store.months(website, {})) {
    removed += await eraser.eraseShard(shardPath(store.root, website, month), visitor, () => store.holdWrites(website, month));
  }
  return removed;
}
