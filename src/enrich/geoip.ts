import { Reader, type CountryResponse } from "maxmind";
import { isIP } from "node:net";
import { readFileSync } from "node:fs";
import { memoize } from "./memo";
import embeddedDatabase from "@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb" with { type: "file" };

/** MaxMind's GeoLite2/GeoIP2 files answer `{country: {iso_code}}`; ip-location-db files `{country_code}`. */
type CountryRecord = CountryResponse & { country_code?: string };

export type CountryLookup = (ip: string) => string | undefined;

/**
 * Opens a country database: the user's own `.mmdb` when a path is given, else
 * the one embedded in the build. Throws when the file cannot be read or is not
 * an MMDB file, so a bad `--geoip` stops start-up.
 */
export function openCountryLookup(path?: string): CountryLookup {
  const reader = new Reader<CountryRecord>(readFileSync(path ?? embeddedDatabase), { cache: recordCache(4096) });
  // A visitor sends several events from one address: a tree walk saved each time.
  return memoize((ip) => {
    const address = stripPort(ip);
    if (!isIP(address)) return undefined;
    const record = reader.get(address);
    const code = record?.country_code ?? record?.country?.iso_code;
    return code ? code.toLowerCase() : undefined;
  }, 100_000);
}

/** `1.2.3.4:80` → `1.2.3.4`, `[2001:db8::1]:443` → `2001:db8::1`; a bare IPv6 address is left alone. */
export function stripPort(ip: string): string {
  if (ip.startsWith("[")) {
    const close = ip.indexOf("]");
    return close > 0 ? ip.slice(1, close) : ip;
  }
  const colon = ip.indexOf(":");
  return colon > 0 && colon === ip.lastIndexOf(":") ? ip.slice(0, colon) : ip;
}

/**
 * Decoded records by their offset in the file. A country database holds a few
 * hundred distinct records shared by millions of networks, so after warm-up a
 * lookup is a tree walk with no decoding; the bound only guards odd files.
 */
function recordCache(capacity: number) {
  const records = new Map<string | number, unknown>();
  return {
    get: (offset: string | number) => records.get(offset),
    set: (offset: string | number, record: unknown) => {
      if (records.size >= capacity) records.clear();
      records.set(offset, record);
    },
  };
}
