/**
 * The host (with its port, if any) of a Referer URL, lower case; "" when the
 * value is not a URL. A bare `example.com/page` is read as an http URL.
 */
export function refererDomain(referer: string): string {
  const value = referer.trim();
  if (value === "") return "";
  const url = URL.parse(value) ?? URL.parse(`http://${value}`);
  return url?.host.toLowerCase() ?? "";
}
