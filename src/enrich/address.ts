import { isIP } from "node:net";

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
