import { canonicalAddress } from "../../enrich/address";
import { hashAddress } from "../../enrich/ip-mode";

/**
 * The visitor a data-subject request names, as plain data that can be sent
 * to the erasure worker: the address as given, and its hash under each key
 * the root holds. The keys themselves stay on the main thread, where they
 * are zeroed when the daily one changes; a copy in another thread's heap
 * would outlive that.
 */
export interface Visitor {
  address: string;
  hashes: string[];
}

export function describeVisitor(address: string, keys: Buffer[]): Visitor {
  return { address, hashes: keys.map((key) => hashAddress(key, address)) };
}

/**
 * Which stored values are the visitor: the address itself, any other
 * spelling of it (`1.2.3.4:80`, `::ffff:1.2.3.4`), as the keep mode stores
 * what clients sent, and its hashes.
 */
export function visitorMatcher({ address, hashes }: Visitor): (stored: string) => boolean {
  const canonical = canonicalAddress(address);
  const hashed = new Set(hashes);
  return (stored) => stored === address || hashed.has(stored) || (canonical !== undefined && canonicalAddress(stored) === canonical);
}
