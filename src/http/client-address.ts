import parseForwarded from "forwarded-parse";
import { BlockList, isIP } from "node:net";
import { canonicalAddress } from "../enrich/address";

/** A proxy's address or range, as `--trust-proxy` gives it: `10.0.0.0/8`, `2001:db8::/32`, `127.0.0.1`. */
export interface ProxyRange {
  address: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

export type ProxyHeader = "x-forwarded-for" | "forwarded";

/** Which peers are proxies whose forwarding header is believed, and which header they set. */
export interface ProxyTrust {
  ranges: BlockList;
  any: boolean;
  header: ProxyHeader;
}

/**
 * `--trust-proxy`: addresses and CIDR ranges, separated by commas. An
 * IPv4-mapped range (`::ffff:10.0.0.0/104`) is its IPv4 range, as addresses
 * are compared in their canonical form (see canonicalAddress). Throws, naming
 * the entry, on anything else.
 */
export function parseProxyRanges(list: string): ProxyRange[] {
  return list
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    .map((entry) => {
      const [base = "", bits, extra] = entry.split("/");
      const address = isIP(base) === 0 ? undefined : canonicalAddress(base);
      const family = address === undefined ? undefined : isIP(address) === 4 ? "ipv4" : "ipv6";
      const mappedShift = family === "ipv4" && isIP(base) === 6 ? 96 : 0;
      const max = family === "ipv4" ? 32 + mappedShift : 128;
      const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
      if (address === undefined || family === undefined || extra !== undefined || !(prefix >= mappedShift && prefix <= max)) {
        throw new Error(`"${entry}" is not an address or a CIDR range (10.0.0.0/8, 2001:db8::/32, 127.0.0.1).`);
      }
      return { address, prefix: prefix - mappedShift, family };
    });
}

export function proxyTrust(ranges: ProxyRange[], header: ProxyHeader): ProxyTrust {
  const list = new BlockList();
  for (const { address, prefix, family } of ranges) list.addSubnet(address, prefix, family);
  return { ranges: list, any: ranges.length > 0, header };
}

/**
 * The address of the client a request comes from. A peer that is not a
 * trusted proxy is the client, whatever headers it sends. A trusted proxy's
 * header is read from the right, where it appended the address it saw: hops
 * that are themselves trusted proxies are skipped, and the first that is not
 * is the client. An entry that is not an address (`unknown`, an obfuscated
 * `_name`, garbage) ends the walk at the proxy that wrote it, so only
 * addresses are ever taken from the network. Addresses are canonical
 * (IPv4-mapped as IPv4, IPv6 compressed, no port); "" when there is no peer.
 */
export function clientAddress(peer: string | undefined, headers: Headers, trust: ProxyTrust): string {
  let client = peer === undefined ? undefined : canonicalAddress(peer);
  if (client === undefined) return "";
  if (!trust.any) return client;
  const hops = forwardedHops(headers, trust.header);
  for (let i = hops.length - 1; i >= 0 && isTrusted(trust, client); i--) {
    const hop = canonicalAddress(hops[i]!);
    if (hop === undefined) break;
    client = hop;
  }
  return client;
}

function isTrusted(trust: ProxyTrust, address: string): boolean {
  return trust.ranges.check(address, isIP(address) === 4 ? "ipv4" : "ipv6");
}

/**
 * The addresses a forwarding header lists, oldest hop first. Each element
 * of `Forwarded` is parsed alone: what a client wrote to the left of its
 * proxy's element (an unclosed quote, say) must not spoil the elements the
 * proxies appended after it.
 */
function forwardedHops(headers: Headers, header: ProxyHeader): string[] {
  const value = headers.get(header);
  if (value === null) return [];
  const elements = value.split(",").map((element) => element.trim()).filter((element) => element !== "");
  if (header === "x-forwarded-for") return elements;
  return elements.map((element) => {
    try {
      return parseForwarded(element)[0]?.for ?? "";
    } catch {
      return "";
    }
  });
}
