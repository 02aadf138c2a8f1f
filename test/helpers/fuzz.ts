/**
 * Seeded generation: a small generator of random numbers, and the cases of
 * the hostile fuzz run (test/process/hostile-http.test.ts). The same seed
 * gives the same cases, so a failing run can be replayed with the seed it
 * prints.
 */

/**
 * mulberry32: a small seeded generator of numbers in [0, 1). The same seed
 * gives the same sequence.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed from the environment variable `name` when it is set (a replay), else a new one. */
export function seedFrom(name: string): number {
  const given = process.env[name];
  return given ? Number(given) >>> 0 : (Date.now() ^ (Math.random() * 0x1_0000_0000)) >>> 0;
}

/** A valid event, the base of the generated bodies. */
export const EVENT = { time: "2015-11-24T12:00:00Z", event: "download", path: "/README.md", ip: "10.0.0.1" };

/** Text spliced into generated JSON as it is (deep nesting, numbers JSON.stringify cannot write). */
export class RawJson {
  constructor(readonly text: string) {}
}

export function toJson(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

export const nestedArrays = (depth: number) => new RawJson("[".repeat(depth) + "]".repeat(depth));

/** True when the service could take these bytes for JSON at all (then a byte mutation must be rerolled). */
export function parsesAsJson(bytes: Uint8Array): boolean {
  try {
    JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    return true;
  } catch {
    return false;
  }
}

export interface FuzzCase {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  chunked?: number;
}

export const SEEDED = ["alpha.example", "beta.example", "Gamma_site-3"];
const TEXT_FIELDS = ["event", "path", "ip", "platform", "refererDomain", "countryCode"];

const BAD_TIMES: unknown[] = [
  1.5,
  -1,
  -1448020800,
  1e300,
  new RawJson("1e400"),
  253_402_300_800,
  Number.MAX_SAFE_INTEGER + 2,
  true,
  false,
  null,
  [],
  {},
  ["2015-11-24T12:00:00Z"],
  { time: "2015-11-24T12:00:00Z" },
  nestedArrays(50),
  "",
  " ",
  "garbage",
  "yesterday",
  "now",
  "NaN",
  "Infinity",
  "-1",
  "1.5",
  "1e3",
  "0x10",
  " 1448020800",
  "1448020800 ",
  "9999999999999999",
  "253402300800",
  "0000-01-01T00:00:00Z",
  "0099-12-31T23:59:59Z",
  "10000-01-01T00:00:00Z",
  "-0001-01-01T00:00:00Z",
  "1969-12-31T23:59:59Z",
  "1970-01-01T00:00:00+00:01",
  "2015-13-01T00:00:00Z",
  "2015-02-30T00:00:00Z",
  "2015-11-24T24:00:00Z",
  "2015-11-24T12:60:00Z",
  "2015-11-24T12:00:00",
  "2015-11-24",
  "2015-11-24T12:00:00+24:00",
  "Fri, 20 Nov 2015 12:00:00",
  "Fri, 32 Nov 2015 12:00:00 GMT",
  "٣١٤",
  "2015-11-24T12:00:00Z\u0000",
];

const BAD_WEBSITES: unknown[] = [
  "",
  ".",
  "..",
  "../x",
  "../../etc",
  "./x",
  ".hidden",
  "_x",
  "_health",
  "-x",
  "a/b",
  "a\\b",
  "a b",
  "a\u0000b",
  "\u0000",
  "x".repeat(201),
  "été",
  "日本",
  "😀",
  "%2e%2e",
  "a%2Fb",
  "a\nb",
  " alpha.example",
  "alpha.example ",
  5,
  0,
  -1,
  1.5,
  true,
  false,
  null,
  [],
  ["alpha.example"],
  {},
  { name: "alpha.example" },
  nestedArrays(100),
];

const CONTENT_TYPES = [
  "text/plain",
  "text/plain;charset=UTF-8",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=zzz",
  "multipart/form-data",
  "application/octet-stream",
  "application/json; charset=latin1",
  "application/xml",
  "",
  "a/b/c;;;=",
  "application/json, text/html",
  "*/*",
  "image/png",
  "application/json; charset=ébc",
];

const PATH_PIECES = [
  "..",
  ".",
  "%2e%2e",
  "%2E%2e",
  "%2e",
  ".%2e",
  "%2f",
  "%2F",
  "a%2fb",
  "%5c",
  "a%5Cb",
  "\\",
  "..\\..",
  "%00",
  "a%00b",
  "%",
  "%Z",
  "%ZZ",
  "%E0%A4%A",
  "%C0%AF",
  "%C3%A9",
  "%F0%9F%98%80",
  "été",
  "日本",
  "😀",
  ".hidden",
  "..x",
  "_x",
  "_",
  "__proto__",
  "constructor",
  "_health",
  "_metrics",
  "~",
  "!",
  "*",
  "'",
  "(",
  ")",
  "+",
  "%20",
  "@",
  ":",
  ";",
  ",",
  "$",
  "&",
  "=",
  "-x",
  "alpha.example",
  "beta.example",
  "Gamma_site-3",
  "count",
  "events",
  "time",
  "bulk",
  "countries",
  "x",
  "",
];

/** Each makes every query route refuse the request, whatever else the query holds. */
const BAD_QUERIES = [
  "start=garbage",
  "start=0000-01-01T00:00:00Z",
  "start=-1",
  "start=1.5",
  "start=%00",
  "start=%ZZ",
  "start=a&start=b",
  "start=10000-01-01T00:00:00Z",
  "start=2016-01-01T00:00:00Z&end=2015-01-01T00:00:00Z",
  "start=%E0%A4%A",
  "end=yesterday",
];
const EXTRA_QUERIES = [
  "interval=0",
  "interval=-5",
  "interval=1.5",
  "unique=maybe",
  "cache=%00",
  "access_token=x",
  "%ZZ",
  "&&&",
  "a=%",
  "start[]=x",
  "start=",
];

export function generateCases(seed: number, count: number): FuzzCase[] {
  const rng = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rng() * list.length)]!;
  const chance = (p: number) => rng() < p;
  const encode = (text: string) => new TextEncoder().encode(text);

  const validEvent = (): Record<string, unknown> => ({
    time: pick(["2015-11-24T12:00:00Z", "2015-12-01T00:00:00Z", "Tue, 24 Nov 2015 12:00:00 GMT", "1448366400", 1448366400]),
    event: pick(["view", "download", "click", "été 😀"]),
    path: pick(["/", "/a", "/docs/x?y=1"]),
    ip: pick(["10.0.0.1", "10.0.0.2", "192.168.1.9"]),
    ...(chance(0.3) ? { headers: { "User-Agent": "Mozilla/5.0 (X11; Linux x86_64)", Referer: "https://example.org/x" } } : {}),
  });
  const extraFields = (): Record<string, unknown> => {
    const extra: Record<string, unknown> = {};
    for (let i = int(1, 4); i > 0; i--) {
      // defineProperty, so that "__proto__" becomes a key of the JSON like any other.
      Object.defineProperty(extra, pick(["extra", "__proto__", "constructor", "website", "list", "time2", "ÿ", "", "a".repeat(300)]), {
        value: pick<unknown>([1, "x", null, true, [1, 2], { a: { b: {} } }, nestedArrays(int(10, 3000))]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return extra;
  };
  const longString = () => {
    const n = int(8193, 20_000);
    return chance(0.5) ? "x".repeat(n) : Array.from({ length: n }, () => pick(["a", "é", "\\", '"', "/", " "])).join("");
  };
  const wrongValue = (): unknown =>
    pick<() => unknown>([
      () => int(-5, 5),
      () => rng() * 100,
      () => pick([true, false]),
      () => null,
      () => [],
      () => ["x"],
      () => ({}),
      () => ({ value: "x" }),
      () => nestedArrays(10_000),
      () => new RawJson("1e400"),
    ])();

  /** An event the service must refuse: exactly one sure defect, maybe with unknown fields beside it. */
  const badEvent = (): Record<string, unknown> => {
    const event = { ...validEvent(), ...(chance(0.3) ? extraFields() : {}) };
    switch (int(0, 7)) {
      case 0:
        event[pick(TEXT_FIELDS)] = wrongValue();
        break;
      case 1:
        event.time = pick(BAD_TIMES);
        break;
      case 2:
        event[pick(TEXT_FIELDS)] = longString();
        break;
      case 3:
        event[pick(TEXT_FIELDS)] = pick(["\u0000", "a\u0000b", "view\u0000", "\u0000".repeat(10)]);
        break;
      case 4:
        event.headers = pick<unknown>(["User-Agent: x", ["User-Agent", "x"], 5, null, true, nestedArrays(100)]);
        break;
      case 5:
        event.headers = { "User-Agent": chance(0.5) ? wrongValue() : longString() };
        break;
      case 6:
        event.headers = Object.fromEntries(Array.from({ length: int(65, 120) }, (_, i) => [`X-H${i}`, "v"]));
        break;
      default:
        event.headers = { Referer: pick(["a\u0000b", "\u0000"]) };
        break;
    }
    return event;
  };
  const goodList = (n: number) => Array.from({ length: n }, validEvent);
  const withBadItem = (good: unknown[], bad: unknown) => {
    const list = [...good];
    list.splice(int(0, list.length), 0, bad);
    return list;
  };
  const addressed = (event: Record<string, unknown>) => ({ ...event, website: pick(SEEDED) });

  /** A body the service must refuse, for one of the three write routes. */
  const badBodyFor = (route: "single" | "bulk" | "multi"): unknown => {
    const notAnObject = () => pick<unknown>([[], [validEvent()], "x", 5, null, true, nestedArrays(int(100, 10_000))]);
    if (route === "single") return chance(0.12) ? notAnObject() : badEvent();
    const item = () => (route === "multi" ? addressed(validEvent()) : validEvent());
    switch (int(0, 9)) {
      case 0:
        return chance(0.5)
          ? notAnObject()
          : pick<unknown>([{}, { list: {} }, { list: "x" }, { list: null }, { list: 3 }, { lists: [item()] }, { list: { 0: item() } }]);
      case 1:
        if (route === "multi") {
          const event = validEvent();
          const bad = chance(0.2) ? event : { ...event, website: pick(BAD_WEBSITES) };
          return { list: withBadItem(goodList(int(0, 6)).map(addressed), bad) };
        }
        return { list: withBadItem(goodList(int(1, 6)), notAnObject()) };
      case 2:
        return { list: withBadItem(goodList(int(0, 6)).map(route === "multi" ? addressed : (e) => e), pick<unknown>([null, 5, "x", [], [item()]])) };
      default: {
        const bad = badEvent();
        return { list: withBadItem(goodList(int(0, 8)).map(route === "multi" ? addressed : (e) => e), route === "multi" ? addressed(bad) : bad) };
      }
    }
  };
  /**
   * A body refused by all three write routes, for paths whose route is not
   * known in advance: not JSON, not an object, or an object that is a bad
   * event and holds a list with a bad item.
   */
  const universallyBadBody = (): [string, Uint8Array] => {
    switch (int(0, 3)) {
      case 0:
        return damaged(encode(toJson(validBodyFor(pick(["single", "bulk", "multi"] as const)))));
      case 1:
        return ["not an object", encode(toJson(pick<unknown>([[], [validEvent()], "x", 5, null, true, nestedArrays(int(100, 10_000))])))];
      default: {
        const list = withBadItem(goodList(int(0, 4)).map(addressed), addressed(badEvent()));
        return ["bad event holding a bad list", encode(toJson({ ...badEvent(), list }))];
      }
    }
  };
  const validBodyFor = (route: "single" | "bulk" | "multi"): unknown =>
    route === "single" ? validEvent() : { list: route === "multi" ? goodList(int(1, 4)).map(addressed) : goodList(int(1, 4)) };
  const routePath = (route: "single" | "bulk" | "multi") =>
    route === "multi" ? "/bulk" : route === "bulk" ? `/${pick(SEEDED)}/bulk` : `/${pick(SEEDED)}`;

  /** Byte-level damage to a valid body, rerolled until the bytes are no longer JSON. */
  const damaged = (valid: Uint8Array): [string, Uint8Array] => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const bytes = Array.from(valid);
      let what: string;
      switch (int(0, 5)) {
        case 0:
          what = "truncated";
          bytes.length = int(0, Math.max(0, bytes.length - 1));
          break;
        case 1:
          what = "flipped bytes";
          for (let n = int(1, 4); n > 0; n--) {
            const at = int(0, bytes.length - 1);
            bytes[at] = (bytes[at]! ^ int(1, 255)) & 0xff;
          }
          break;
        case 2:
          what = "raw NUL inserted";
          bytes.splice(int(0, bytes.length), 0, 0);
          break;
        case 3:
          what = "invalid UTF-8 inserted";
          bytes.splice(
            int(0, bytes.length),
            0,
            ...pick([
              [0xc3, 0x28],
              [0xa0, 0xa1],
              [0xe2, 0x28, 0xa1],
              [0xf0, 0x28, 0x8c, 0xbc],
              [0xff],
              [0xfe, 0xff],
              [0xc0, 0x80],
              [0xed, 0xa0, 0x80],
              [0xf4, 0x90, 0x80, 0x80],
            ]),
          );
          break;
        case 4:
          what = "structural byte removed";
          {
            const structural = bytes.map((b, i) => ([0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x2c, 0x22].includes(b) ? i : -1)).filter((i) => i >= 0);
            if (structural.length > 0) bytes.splice(pick(structural), 1);
          }
          break;
        default:
          what = "garbage inserted";
          bytes.splice(int(0, bytes.length), 0, ...Array.from({ length: int(1, 8) }, () => int(0, 255)));
          break;
      }
      const result = Uint8Array.from(bytes);
      if (!parsesAsJson(result)) return [what, result];
    }
    return ["truncated", valid.slice(0, Math.max(0, valid.length - 1))];
  };

  /** A path made of odd pieces, and whether the service could take it for a seeded website or an open route. */
  const oddPath = (): string => {
    const pieces = Array.from({ length: int(1, 4) }, () => (chance(0.25) ? pick(PATH_PIECES) + pick(PATH_PIECES) : pick(PATH_PIECES)));
    // One very long name at most: kept under the HTTP server's own limit on the request head.
    if (chance(0.1)) pieces[int(0, pieces.length - 1)] = (chance(0.5) ? "a" : pick(["é", "%41", ".", "_", "a%2f"])).repeat(int(201, 1000));
    return `${chance(0.1) ? "/" : ""}/${pieces.join("/")}${chance(0.1) ? "/" : ""}`;
  };

  const cases: FuzzCase[] = [];
  const add = (kind: string, method: string, path: string, body?: unknown, bytes?: Uint8Array) => {
    const headers: Record<string, string> = {};
    const contentType = chance(0.6) ? "application/json" : pick(CONTENT_TYPES);
    if (contentType !== "" || chance(0.5)) headers["Content-Type"] = contentType;
    const payload = bytes ?? (body === undefined ? undefined : encode(toJson(body)));
    cases.push({ kind, method, path, headers, body: payload, chunked: payload && payload.length > 0 && chance(0.1) ? int(1, 4096) : undefined });
  };

  while (cases.length < count) {
    const roll = rng();
    const route = pick(["single", "bulk", "multi"] as const);
    if (roll < 0.25) {
      // A valid body, damaged byte by byte.
      const [what, bytes] = damaged(encode(toJson(validBodyFor(route))));
      add(`${route}: ${what}`, "POST", routePath(route), undefined, bytes);
    } else if (roll < 0.55) {
      // Well-formed JSON of the wrong shape, types, times, sizes or websites.
      add(`${route}: bad content`, "POST", routePath(route), badBodyFor(route));
    } else if (roll < 0.56) {
      // More bulk items than the default --max-bulk-items (100000).
      add(`${route}: over --max-bulk-items`, "POST", routePath(route === "single" ? "bulk" : route), {
        list: Array.from({ length: 100_001 }, () => ({})),
      });
    } else if (roll < 0.8) {
      // Odd URLs, with a method and body chosen so that any reading of the path must refuse the request.
      const path = oddPath();
      const safety = pathSafety(path);
      const method = pick(["POST", "POST", "GET", "GET", "PUT", "PATCH", "OPTIONS", "DELETE"]);
      if (method === "GET" && safety.getIsSafe) {
        const query = [pick(BAD_QUERIES), ...(chance(0.3) ? [pick(EXTRA_QUERIES)] : [])].join("&");
        add("odd URL", "GET", `${path}?${query}`);
      } else if (method === "DELETE" && safety.deleteIsSafe) {
        add("odd URL", "DELETE", path);
      } else if (method === "PUT" || method === "PATCH" || method === "OPTIONS") {
        add("odd URL", method, path, chance(0.5) ? validBodyFor(route) : undefined);
      } else {
        const [what, bytes] = universallyBadBody();
        add(`odd URL, ${what}`, "POST", path, undefined, bytes);
      }
    } else {
      // Known paths asked with a method they do not take, valid bodies and all.
      const site = pick(SEEDED);
      const [method, path] = pick<[string, string]>([
        ["PUT", `/${site}`],
        ["PATCH", `/${site}`],
        ["OPTIONS", `/${site}`],
        ["PUT", "/"],
        ["PATCH", "/"],
        ["OPTIONS", "/"],
        ["POST", "/"],
        ["DELETE", "/"],
        ["PUT", "/bulk"],
        ["PATCH", `/${site}/bulk`],
        ["DELETE", `/${site}/bulk`],
        ["PUT", `/${site}/bulk`],
        ["OPTIONS", `/${site}/bulk`],
        ["POST", `/${site}/${pick(["count", "events", "time", "countries", "x"])}`],
        ["DELETE", `/${site}/${pick(["count", "events", "time", "platforms", "domains", "x"])}`],
        ["PUT", `/${site}/count`],
        ["PATCH", `/${site}/time`],
        ["OPTIONS", `/${site}/count`],
        ["POST", `/${site}/bulk/extra`],
        ["POST", `/${site}/count/extra`],
        ["PUT", "/_health"],
        ["DELETE", "/_health"],
        ["POST", "/_health"],
        ["PATCH", "/_metrics"],
        ["POST", "/_metrics"],
        ["POST", "/_nope"],
        ["GET", `/${site}/count/extra?start=garbage`],
        ["GET", `/_nope/${site}`],
        ["GET", `/${site}/bulk`],
      ]);
      add("wrong method or route", method, path, method === "GET" ? undefined : validBodyFor(route));
    }
  }
  return cases;
}

/**
 * Whether a GET or a DELETE of this odd path is sure to be refused, however
 * the path is read: as written, decoded, or normalised the way a URL parser
 * does (`..`, `%2e%2e`, backslashes). A GET must not reach `/` or the open
 * admin routes (it carries a bad `start` for every other route); a DELETE
 * must not reach a seeded website.
 */
export function pathSafety(path: string): { getIsSafe: boolean; deleteIsSafe: boolean } {
  const readings: string[][] = [];
  const segments = (p: string) =>
    p
      .split("/")
      .filter((s) => s !== "")
      .map((s) => {
        try {
          return decodeURIComponent(s);
        } catch {
          return s;
        }
      });
  readings.push(segments(path));
  try {
    readings.push(segments(new URL(`http://host.example${path}`).pathname));
  } catch {
    return { getIsSafe: false, deleteIsSafe: false };
  }
  const open = new Set(["_health", "_metrics"]);
  const getIsSafe = readings.every((r) => r.length > 0 && !(r.length === 1 && open.has(r[0]!.toLowerCase())));
  const deleteIsSafe = readings.every((r) => !(r.length === 1 && SEEDED.some((site) => site.toLowerCase() === r[0]!.toLowerCase())));
  return { getIsSafe, deleteIsSafe };
}

export function describeCase(index: number, c: FuzzCase): string {
  const body = c.body ? Buffer.from(c.body) : undefined;
  const preview = body ? JSON.stringify(body.subarray(0, 160).toString("latin1")) + (body.length > 160 ? `… (${body.length} bytes)` : "") : "(none)";
  return `#${index} [${c.kind}] ${c.method} ${JSON.stringify(c.path.length > 200 ? `${c.path.slice(0, 200)}…(${c.path.length})` : c.path)} content-type=${JSON.stringify(c.headers["Content-Type"] ?? null)}${c.chunked ? ` chunked(${c.chunked})` : ""} body=${preview}`;
}
