import { Reader, type CountryResponse } from "maxmind";
import { isIP } from "node:net";
import { readFileSync } from "node:fs";
import { memoize } from "./memo";
import embeddedDatabase from "@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb" with { type: "file" };

/** MaxMind's GeoLite2/GeoIP2 files answer `{country: {iso_code}}`; ip-location-db files `{country_code}`. */
type CountryRecord = CountryResponse & { country_code?: string };

export type CountryLookup = (ip: string) => string | undefined;

/** Every MMDB file ends with its metadata, which starts with these bytes (the format's own marker). */
const METADATA_MARKER = Buffer.from("\xab\xcd\xefMaxMind.com", "latin1");

/**
 * Opens a country database: the user's own `.mmdb` when a path is given, else
 * the one embedded in the build. Throws, saying what is wrong with the file,
 * when it cannot be read or is not an MMDB file, so a bad `--geoip` stops
 * start-up with a message a person can act on.
 */
export function openCountryLookup(path?: string): CountryLookup {
  const reader = new Reader<CountryRecord>(readDatabase(path ?? embeddedDatabase), { cache: recordCache(4096) });
  // A visitor sends several events from one address: a tree walk saved each
  // time. Keys are canonical addresses (39 characters at most), so 100,000 of
  // them stay within a few MB whatever clients send as `ip`.
  const lookup = memoize(
    (address) => {
      const record = reader.get(address);
      const code = record?.country_code ?? record?.country?.iso_code;
      return code ? code.toLowerCase() : undefined;
    },
    { entries: 100_000, chars: 4_000_000 },
  );
  return (ip) => {
    const address = canonicalAddress(ip);
    return address === undefined ? undefined : lookup(address);
  };
}

function readDatabase(path: string): Buffer {
  const bytes = readFileSync(path);
  if (bytes.length === 0) {
    throw new Error("the file is empty (0 bytes); download the .mmdb again, or leave --geoip unset to use the embedded database");
  }
  if (bytes.lastIndexOf(METADATA_MARKER) < 0) {
    throw new Error(
      `the file (${bytes.length} bytes) has no MaxMind metadata, so it is not an .mmdb database (a .tar.gz or .csv download must be unpacked or converted first); leave --geoip unset to use the embedded database`,
    );
  }
  return bytes;
}

/**
 * The address an `ip` field holds, spelled one way: without its port
 * (`1.2.3.4:80`, `[2001:db8::1]:443`), IPv6 in its canonical form (lower
 * case, zeros compressed), and an IPv4-mapped IPv6 address (`::ffff:8.8.8.8`,
 * as dual-stack proxies send IPv4 clients) as the IPv4 address it maps,
 * which is where country databases keep it. Undefined when `ip` is not an
 * address: such values are stored as sent but have no country.
 */
export function canonicalAddress(ip: string): string | undefined {
  const address = stripPort(ip);
  const family = isIP(address);
  if (family === 4) return address;
  if (family !== 6) return undefined;
  // The URL parser writes IPv6 hosts canonically; it refuses a zone id
  // (`fe80::1%eth0`), which only link-local addresses carry, and they have no country.
  const host = URL.parse(`http://[${address}]/`)?.hostname.slice(1, -1);
  if (!host) return undefined;
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (!mapped) return host;
  const [high, low] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
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
