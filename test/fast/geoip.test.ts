import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { openCountryLookup } from "../../src/enrich/geoip";
import { memoize } from "../../src/enrich/memo";
import { openApp, type TestApp } from "../helpers/app";
import { inspect } from "../helpers/files";
import { join } from "node:path";

const country = openCountryLookup();

describe("IPv4-mapped IPv6 addresses, as dual-stack proxies send them", () => {
  test.each(["::ffff:8.8.8.8", "[::ffff:8.8.8.8]:443", "::ffff:808:808", "0:0:0:0:0:ffff:808:808", "::FFFF:8.8.8.8", "[::ffff:808:808]"])(
    "%s gets the country of 8.8.8.8",
    (ip) => {
      expect(country("8.8.8.8")).toBe("us");
      expect(country(ip)).toBe("us");
    },
  );

  test("other IPv6 addresses and IPv4 with a port are looked up as before", () => {
    expect(country("2001:4860:4860::8888")).toBe("us");
    expect(country("[2001:4860:4860::8888]:443")).toBe("us");
    expect(country("8.8.8.8:80")).toBe("us");
  });

  test.each(["", "unknown", "-", "1.2.3.4, 5.6.7.8", "::ffff:999.8.8.8", "fe80::1%eth0", "[::ffff:8.8.8.8", "8.8.8.8:80:80"])(
    "%j is not an address: no country",
    (ip) => {
      expect(country(ip)).toBeUndefined();
    },
  );
});

describe("the GeoIP memo is bounded in bytes, whatever clients send", () => {
  /** Bytes the JS heap holds once garbage is collected. */
  const liveHeap = () => {
    Bun.gc(true);
    return process.memoryUsage().heapUsed;
  };

  test("20,000 distinct 8,000-character ip values leave no memory behind", () => {
    const before = liveHeap();
    for (let i = 0; i < 20_000; i++) country(randomBytes(4000).toString("hex"));
    const grown = liveHeap() - before;
    // Kept, they would hold 160 MB (20,000 × 8,000 one-byte characters); the bound is far from both.
    expect(grown).toBeLessThan(40 * 1024 * 1024);
  });

  test("an address is looked up the same whatever port or spelling it comes with", () => {
    for (let i = 0; i < 2_000; i++) {
      const last = (i % 250).toString(16).padStart(4, "0");
      expect(country(`[0000:0000:0000:0000:0000:ffff:0808:${last}]:${i}`)).toBe(country(`8.8.0.${i % 250}`));
    }
  });

  test("a memo evicts by the characters of its keys, not only by their number", () => {
    let computed = 0;
    const memo = memoize((key) => (computed++, key.length), { entries: 1000, chars: 100 });
    const key = (i: number) => `${i}`.padStart(30, "k");
    for (let i = 0; i < 10; i++) memo(key(i));
    expect(computed).toBe(10);
    memo(key(9));
    expect(computed).toBe(10); // the newest is still remembered
    memo(key(0));
    expect(computed).toBe(11); // 300 characters of keys did not fit in 100: the oldest went
  });

  test("a key longer than the whole budget is computed, never stored", () => {
    let computed = 0;
    const memo = memoize((key) => (computed++, key.length), { entries: 1000, chars: 100 });
    memo("x".repeat(500));
    memo("x".repeat(500));
    expect(computed).toBe(2);
  });
});

describe("an ip that is not an address (through the app)", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await openApp();
  });
  afterAll(() => app.close());

  test("is stored as sent, with the body's countryCode kept: the original took any string", async () => {
    const ips = ["unknown", "1.2.3.4, 5.6.7.8", "x".repeat(8000)];
    for (const ip of ips) {
      const answer = await app.request("/odd-ip.example", { body: { time: "2015-11-24T13:00:00Z", ip, countryCode: "FR" } });
      expect(answer).toMatchObject({ status: 200, body: { inserted: 1 } });
    }
    const mapped = await app.request("/odd-ip.example", { body: { time: "2015-11-24T13:00:00Z", ip: "[::ffff:8.8.8.8]:443", countryCode: "FR" } });
    expect(mapped.status).toBe(200);
    const rows = inspect(join(app.root, "odd-ip.example", "2015-11", "analytics.db"), (db) =>
      db.query("SELECT ip, countryCode FROM visits ORDER BY rowid").all(),
    );
    expect(rows).toEqual([...ips.map((ip) => ({ ip, countryCode: "fr" })), { ip: "[::ffff:8.8.8.8]:443", countryCode: "us" }]);
  });
});
