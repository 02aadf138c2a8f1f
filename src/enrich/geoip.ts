import { Reader, type CountryResponse } from "maxmind";
import { readFileSync } from "node:fs";
import { canonicalAddress } from "./address";
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
  // A `--geoip` file is read at once, so that a bad one stops the start. The
  // embedded database is known to be good and is read at the first lookup: a
  // start that looks up no address (a command, a node no event reached yet)
  // neither copies its 8 MB nor waits for them.
  const open = () => new Reader<CountryRecord>(readDatabase(path ?? embeddedDatabase), { cache: recordCache(4096) });
  let reader = path === undefined ? undefined : open();
  // A visitor sends several events from one address: a tree walk saved each
  // time. Keys are canonical addresses (39 characters at most), so 100,000 of
  // them stay within a few MB whatever clients send as `ip`.
  const lookup = memoize(
    (address) => {
      reader ??= open();
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
