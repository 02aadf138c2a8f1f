import { canonicalAddress } from "../../enrich/geoip";
import { hashAddress } from "../../enrich/ip-mode";
import { shardPath } from "../../store/layout";
import { eraseAddresses } from "../../store/rewrite";
import type { Store } from "../../store/store";
import { nextTurn } from "../../store/turns";

/**
 * Which stored values are the visitor at `address`: the value itself, any
 * other spelling of the same address (`1.2.3.4:80`, `::ffff:1.2.3.4`), as
 * the keep mode stores what clients sent, and its hash under each key the
 * root holds.
 */
export function visitorMatcher(address: string, keys: Buffer[]): (stored: string) => boolean {
  const canonical = canonicalAddress(address);
  const hashes = new Set(keys.map((key) => hashAddress(key, address)));
  return (stored) => stored === address || hashes.has(stored) || (canonical !== undefined && canonicalAddress(stored) === canonical);
}

/**
 * Deletes the visitor's events from every month of `website`; answers how
 * many. Each month is a scan of its rows (there is no index on `ip`), so
 * the event loop gets a turn between months.
 */
export async function eraseVisitor(store: Store, website: string, matches: (stored: string) => boolean): Promise<number> {
  let removed = 0;
  for (const month of store.months(website, {})) {
    removed += eraseAddresses(shardPath(store.root, website, month), matches);
    await nextTurn();
  }
  return removed;
}
