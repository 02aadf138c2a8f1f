import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config/config";
import { clientAddress, parseProxyRanges, proxyTrust } from "../../src/http/client-address";

const headers = (entries: Record<string, string>) => new Headers(entries);
const trusting = (list: string, header: "x-forwarded-for" | "forwarded" = "x-forwarded-for") => proxyTrust(parseProxyRanges(list), header);

describe("the client's address", () => {
  test("without --trust-proxy it is the peer's, whatever the headers say", () => {
    const forged = headers({ "x-forwarded-for": "8.8.8.8", forwarded: "for=8.8.8.8" });
    expect(clientAddress("203.0.113.9", forged, trusting(""))).toBe("203.0.113.9");
    expect(clientAddress("::ffff:203.0.113.9", forged, trusting(""))).toBe("203.0.113.9");
    expect(clientAddress(undefined, forged, trusting(""))).toBe("");
  });

  test("a peer that is not a trusted proxy never chooses its address", () => {
    const trust = trusting("10.0.0.0/8");
    expect(clientAddress("203.0.113.9", headers({ "x-forwarded-for": "8.8.8.8" }), trust)).toBe("203.0.113.9");
  });

  test("X-Forwarded-For is read from the right, skipping trusted hops", () => {
    const trust = trusting("10.0.0.0/8, 192.168.1.1");
    // The client forged the first entry; the proxies appended what they saw.
    const chain = headers({ "x-forwarded-for": "1.1.1.1, 198.51.100.4, 192.168.1.1" });
    expect(clientAddress("10.1.2.3", chain, trust)).toBe("198.51.100.4");
    expect(clientAddress("10.1.2.3", headers({ "x-forwarded-for": "198.51.100.4:5555" }), trust)).toBe("198.51.100.4");
    // Two headers are one list, in order.
    const twice = new Headers();
    twice.append("x-forwarded-for", "1.1.1.1");
    twice.append("x-forwarded-for", "198.51.100.4");
    expect(clientAddress("10.1.2.3", twice, trust)).toBe("198.51.100.4");
  });

  test("when every hop is trusted, the leftmost is the client; a hop that is no address stops at the proxy that wrote it", () => {
    const trust = trusting("10.0.0.0/8");
    expect(clientAddress("10.0.0.1", headers({ "x-forwarded-for": "10.9.9.9, 10.0.0.2" }), trust)).toBe("10.9.9.9");
    expect(clientAddress("10.0.0.1", headers({ "x-forwarded-for": "unknown, 10.0.0.2" }), trust)).toBe("10.0.0.2");
    expect(clientAddress("10.0.0.1", headers({}), trust)).toBe("10.0.0.1");
  });

  test("IPv6 proxies and clients, and IPv4-mapped peers matched against IPv4 ranges", () => {
    const trust = trusting("2001:db8::/32, ::ffff:172.16.0.0/108");
    expect(clientAddress("2001:db8::7", headers({ "x-forwarded-for": "2001:DB8:0:0::1:2, 2a00:1450::5" }), trust)).toBe("2a00:1450::5");
    expect(clientAddress("::ffff:172.16.4.4", headers({ "x-forwarded-for": "8.8.4.4" }), trust)).toBe("8.8.4.4");
    expect(clientAddress("172.16.4.4", headers({ "x-forwarded-for": "::ffff:8.8.4.4" }), trust)).toBe("8.8.4.4");
    expect(clientAddress("172.32.0.1", headers({ "x-forwarded-for": "8.8.4.4" }), trust)).toBe("172.32.0.1");
  });

  test("Forwarded (RFC 7239): for= of each element, quoted IPv6 with brackets and port, read from the right", () => {
    const trust = trusting("127.0.0.1", "forwarded");
    const value = 'for=1.1.1.1;proto=https, For="[2001:db8:cafe::17]:4711";by=127.0.0.1';
    expect(clientAddress("127.0.0.1", headers({ forwarded: value }), trust)).toBe("2001:db8:cafe::17");
    expect(clientAddress("127.0.0.1", headers({ forwarded: 'for="192.0.2.60:8080";proto=http' }), trust)).toBe("192.0.2.60");
    // Garbage a client put on the left does not spoil the element its proxy appended.
    expect(clientAddress("127.0.0.1", headers({ forwarded: 'for="unclosed, for=198.51.100.8' }), trust)).toBe("198.51.100.8");
    // An obfuscated name is no address: the proxy that wrote it is as far as we can tell.
    expect(clientAddress("127.0.0.1", headers({ forwarded: "for=_hidden" }), trust)).toBe("127.0.0.1");
    // With --proxy-header forwarded, X-Forwarded-For is not read at all.
    expect(clientAddress("127.0.0.1", headers({ "x-forwarded-for": "8.8.8.8" }), trust)).toBe("127.0.0.1");
  });

  test("--trust-proxy refuses what is not an address or a range, naming it", () => {
    expect(() => loadConfig(["--trust-proxy", "10.0.0.0/8,proxy.local"], {})).toThrow('--trust-proxy (or MA_TRUST_PROXY): "proxy.local" is not an address or a CIDR range');
    expect(() => loadConfig(["--trust-proxy", "10.0.0.0/33"], {})).toThrow('"10.0.0.0/33"');
    expect(() => loadConfig(["--trust-proxy", "::ffff:10.0.0.0/8"], {})).toThrow('"::ffff:10.0.0.0/8"');
    expect(() => loadConfig(["--proxy-header", "x-real-ip"], {})).toThrow("--proxy-header");
    const command = loadConfig([], { MA_TRUST_PROXY: " 127.0.0.1 , ::1, fd00::/8 " });
    expect(command.name === "serve" && command.config.privacy.trustProxy).toEqual([
      { address: "127.0.0.1", prefix: 32, family: "ipv4" },
      { address: "::1", prefix: 128, family: "ipv6" },
      { address: "fd00::", prefix: 8, family: "ipv6" },
    ]);
  });
});
