import { createHmac } from "node:crypto";
import { canonicalAddress } from "./address";
import { DailyKey, existingHashKey, openHashKey, type HashKey } from "./ip-keys";
import { memoize } from "./memo";

/** What is stored of a visitor's address (`--ip-mode`). */
export type AddressMode = "keep" | "hash" | "daily" | "none";

/** Bytes of the HMAC kept: 128 bits, so that two visitors of a site never share a hash. */
const HASH_BYTES = 16;

/** What a stored hash looks like: 16 bytes in base64url. Raw values (addresses, `unknown`) never do. */
export const HASHED = /^[A-Za-z0-9_-]{22}$/;

/**
 * The text stored for `ip` under `key`: HMAC-SHA-256 of the canonical
 * address (so `1.2.3.4:80` and `::ffff:1.2.3.4` are one visitor, as they are
 * one address), truncated to 128 bits, in base64url. Without the key it
 * cannot be reversed, even by trying every IPv4 address. A value that is not
 * an address is hashed as it is; "" (no address) stays "".
 */
export function hashAddress(key: Buffer, ip: string): string {
  if (ip === "") return "";
  return createHmac("sha256", key)
    .update(canonicalAddress(ip) ?? ip)
    .digest()
    .subarray(0, HASH_BYTES)
    .toString("base64url");
}

export interface AddressPolicy {
  mode: AddressMode;
  /** What is stored for `ip`; its country was looked up before. */
  store(ip: string): string;
  /** The keys a stored value may have been hashed with: the ones to try when erasing a visitor. */
  keys(): Buffer[];
  close(): void;
}

export interface PolicyOptions {
  mode: AddressMode;
  root: string;
  ipKeyFile: string | undefined;
  /** Milliseconds since the epoch; the daily mode's days follow it. */
  clock?: () => number;
  /** Told of each address stored hashed or not at all. */
  onAnonymized?: () => void;
  /** Told when the hash mode's key was made (first start) or is readable by others. */
  onKey?: (key: HashKey) => void;
}

/** Addresses a visitor sends many events from: their hashes are kept, so each is computed once (within the daily key's day). */
const MEMO = { entries: 100_000, chars: 4_000_000 };

/**
 * The `--ip-mode` in force. `keep` stores addresses as sent; `hash` their
 * hash under the root's lasting key; `daily` under the day's key (see
 * DailyKey); `none` nothing. Throws when the key cannot be had.
 */
export function openAddressPolicy({ mode, root, ipKeyFile, clock = Date.now, onAnonymized = () => {}, onKey = () => {} }: PolicyOptions): AddressPolicy {
  switch (mode) {
    case "keep":
      return {
        mode,
        store: (ip) => ip,
        // Shards anonymized before (the anonymize command) hold hashes under the root's key.
        keys: () => [existingHashKey(root, ipKeyFile)].filter((key) => key !== undefined),
        close() {},
      };
    case "none":
      return {
        mode,
        store: (ip) => {
          if (ip !== "") onAnonymized();
          return "";
        },
        keys: () => [existingHashKey(root, ipKeyFile)].filter((key) => key !== undefined),
        close() {},
      };
    case "hash": {
      const opened = openHashKey(root, ipKeyFile);
      onKey(opened);
      const hashed = memoize((ip) => hashAddress(opened.key, ip), MEMO);
      return {
        mode,
        store: (ip) => {
          if (ip === "") return "";
          onAnonymized();
          return hashed(ip);
        },
        keys: () => [opened.key],
        close() {},
      };
    }
    case "daily": {
      let hashed: ((ip: string) => string) | undefined;
      const daily = new DailyKey(root, clock, () => (hashed = undefined));
      return {
        mode,
        store: (ip) => {
          if (ip === "") return "";
          onAnonymized();
          // Past midnight this changes the key, and drops the hashes of the day before with it.
          const key = daily.current();
          hashed ??= memoize((address) => hashAddress(key, address), MEMO);
          return hashed(ip);
        },
        keys: () => [daily.current(), existingHashKey(root, ipKeyFile)].filter((key) => key !== undefined),
        close: () => daily.close(),
      };
    }
  }
}
