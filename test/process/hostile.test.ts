/**
 * Careless and hostile clients: a seeded fuzz run of malformed requests, the
 * limits each over by one and exactly at the limit, unknown routes and
 * methods, hostile HTTP heads, and auth under hostility.
 *
 * Every refusal must be a 4xx with the contract's `{code, message}` body, and
 * must leave the disk as it was. Replay a fuzz failure with the seed it prints:
 *   FUZZ_SEED=<seed> bun test test/hostile.test.ts
 * (FUZZ_COUNT changes the number of generated requests; default 1500.)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { request, startServer, type TestServer } from "../helpers/server";
import { seededRandom } from "../helpers/random";

// ---------------------------------------------------------------------------
// Raw HTTP: the request goes out byte for byte as written here (fetch would
// normalise `..`, `%2e%2e` and backslashes, and always sends a Host).
// ---------------------------------------------------------------------------

interface RawRequest {
  method: string;
  /** The request target, written as is (it may hold raw UTF-8). */
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Send the body with Transfer-Encoding: chunked, in chunks of this many bytes. */
  chunked?: number;
  /** The Host header's value; null sends none. Defaults to the server's host:port. */
  host?: string | null;
  version?: "HTTP/1.1" | "HTTP/1.0";
}

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** Set when the connection ended without a complete HTTP answer. */
  dropped?: string;
}

function rawRequest(url: string, req: RawRequest, timeoutMs = 10_000): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  const body = typeof req.body === "string" ? Buffer.from(req.body, "utf8") : req.body ? Buffer.from(req.body) : undefined;
  const lines = [`${req.method} ${req.path} ${req.version ?? "HTTP/1.1"}`];
  const host = req.host === undefined ? `${hostname}:${port}` : req.host;
  if (host !== null) lines.push(`Host: ${host}`);
  for (const [name, value] of Object.entries(req.headers ?? {})) lines.push(`${name}: ${value}`);
  if (body !== undefined) lines.push(req.chunked ? "Transfer-Encoding: chunked" : `Content-Length: ${body.length}`);
  lines.push("Connection: close", "", "");
  const parts: Buffer[] = [Buffer.from(lines.join("\r\n"), "utf8")];
  if (body !== undefined && req.chunked) {
    for (let at = 0; at < body.length; at += req.chunked) {
      const chunk = body.subarray(at, at + req.chunked);
      parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n"));
    }
    parts.push(Buffer.from("0\r\n\r\n"));
  } else if (body !== undefined) {
    parts.push(body);
  }

  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    let socketError: string | undefined;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(parseAnswer(Buffer.concat(chunks), socketError));
    };
    const socket = connect(Number(port), hostname, () => socket.end(Buffer.concat(parts)));
    const timer = setTimeout(() => {
      socketError = `no complete answer within ${timeoutMs} ms`;
      socket.destroy();
      finish();
    }, timeoutMs);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (error) => {
      socketError = error.message;
    });
    socket.on("close", finish);
  });
}

function parseAnswer(bytes: Buffer, socketError: string | undefined): RawAnswer {
  const headEnd = bytes.indexOf("\r\n\r\n");
  const fail = (why: string): RawAnswer => ({ status: 0, headers: {}, text: bytes.toString("utf8"), dropped: socketError ? `${why} (${socketError})` : why });
  if (headEnd < 0) return fail("the connection ended before an HTTP head");
  const [statusLine = "", ...headerLines] = bytes.subarray(0, headEnd).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  if (!status) return fail(`not an HTTP status line: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let payload = bytes.subarray(headEnd + 4);
  if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
    const decoded = decodeChunked(payload);
    if (decoded === undefined) return { ...fail("the chunked body ended early"), status };
    payload = decoded;
  } else if (headers["content-length"] !== undefined) {
    const length = Number(headers["content-length"]);
    if (payload.length < length) return { ...fail(`the body ended after ${payload.length} of ${length} bytes`), status };
    payload = payload.subarray(0, length);
  }
  return { status, headers, text: payload.toString("utf8") };
}

function decodeChunked(payload: Buffer): Buffer | undefined {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = payload.indexOf("\r\n", at);
    if (lineEnd < 0) return undefined;
    const size = parseInt(payload.subarray(at, lineEnd).toString("latin1"), 16);
    if (Number.isNaN(size)) return undefined;
    if (size === 0) return Buffer.concat(out);
    if (payload.length < lineEnd + 2 + size) return undefined;
    out.push(payload.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

/** What is wrong with an answer that should be a 4xx `{code, message}`; undefined when it is right. */
function problemWithRefusal(answer: RawAnswer): string | undefined {
  if (answer.dropped) return `dropped: ${answer.dropped}`;
  if (answer.status < 400 || answer.status > 499) return `status ${answer.status}, expected a 4xx`;
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return `status ${answer.status} with a body that is not JSON: ${JSON.stringify(answer.text.slice(0, 200))}`;
  }
  const b = body as Record<string, unknown>;
  const keys = body && typeof body === "object" && !Array.isArray(body) ? Object.keys(b).sort().join(",") : "";
  if (keys !== "code,message" || typeof b.code !== "string" || typeof b.message !== "string" || b.message.trim() === "") {
    return `status ${answer.status} with a body that is not {code, message}: ${answer.text.slice(0, 200)}`;
  }
  if (!/application\/json/i.test(answer.headers["content-type"] ?? "")) {
    return `status ${answer.status} with content-type ${JSON.stringify(answer.headers["content-type"])}`;
  }
  return undefined;
}

function json(answer: RawAnswer): any {
  try {
    return JSON.parse(answer.text);
  } catch {
    return answer.text;
  }
}

// ---------------------------------------------------------------------------
// The disk, before and after.
// ---------------------------------------------------------------------------

/** Every file and directory under `dir`, as sorted relative paths (directories end with "/"). */
function fileTree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((entry) => {
      const path = join(entry.parentPath, entry.name).slice(dir.length + 1);
      return entry.isDirectory() ? `${path}/` : path;
    })
    .sort();
}

/**
 * The difference between two trees, apart from the -wal and -shm files of
 * shards that existed before (SQLite makes and removes those as it reads).
 */
function treeChanges(before: string[], after: string[]): { added: string[]; removed: string[] } {
  const shards = new Set(before.filter((path) => path.endsWith("analytics.db")));
  const journal = (path: string) => /-(wal|shm)$/.test(path) && shards.has(path.slice(0, -4));
  const had = new Set(before);
  const has = new Set(after);
  return {
    added: after.filter((path) => !had.has(path) && !journal(path)),
    removed: before.filter((path) => !has.has(path) && !journal(path)),
  };
}

/** The root's parent: a temporary directory of its own, holding the root. */
const parentOf = (server: TestServer) => join(server.root, "..");

async function expectUnchangedSince(server: TestServer, before: string[]) {
  expect(treeChanges(before, fileTree(parentOf(server)))).toEqual({ added: [], removed: [] });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function expectAliveAndWelcoming(server: TestServer) {
  expect(isAlive(server.pid)).toBe(true);
  const welcome = await request(`${server.url}/`);
  expect({ status: welcome.status, message: welcome.body?.message }).toEqual({ status: 200, message: "Welcome to micro-analytics!" });
}

// ---------------------------------------------------------------------------
// Data.
// ---------------------------------------------------------------------------

const EVENT = { time: "2015-11-24T12:00:00Z", event: "download", path: "/README.md", ip: "10.0.0.1" };

/** Text spliced into generated JSON as it is (deep nesting, numbers JSON.stringify cannot write). */
class RawJson {
  constructor(readonly text: string) {}
}

function toJson(value: unknown): string {
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

const nestedArrays = (depth: number) => new RawJson("[".repeat(depth) + "]".repeat(depth));

/** True when the service could take these bytes for JSON at all (then a byte mutation must be rerolled). */
function parsesAsJson(bytes: Uint8Array): boolean {
  try {
    JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// 1. The fuzz run.
// ---------------------------------------------------------------------------

interface FuzzCase {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  chunked?: number;
}

const SEEDED = ["alpha.example", "beta.example", "Gamma_site-3"];
const TEXT_FIELDS = ["event", "path", "ip", "platform", "refererDomain", "countryCode"];

const BAD_TIMES: unknown[] = [
  1.5, -1, -1448020800, 1e300, new RawJson("1e400"), 253_402_300_800, Number.MAX_SAFE_INTEGER + 2,
  true, false, null, [], {}, ["2015-11-24T12:00:00Z"], { time: "2015-11-24T12:00:00Z" }, nestedArrays(50),
  "", " ", "garbage", "yesterday", "now", "NaN", "Infinity", "-1", "1.5", "1e3", "0x10", " 1448020800", "1448020800 ",
  "9999999999999999", "253402300800", "0000-01-01T00:00:00Z", "0099-12-31T23:59:59Z", "10000-01-01T00:00:00Z",
  "-0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "1970-01-01T00:00:00+00:01", "2015-13-01T00:00:00Z",
  "2015-02-30T00:00:00Z", "2015-11-24T24:00:00Z", "2015-11-24T12:60:00Z", "2015-11-24T12:00:00", "2015-11-24",
  "2015-11-24T12:00:00+24:00", "Fri, 20 Nov 2015 12:00:00", "Fri, 32 Nov 2015 12:00:00 GMT", "٣١٤", "2015-11-24T12:00:00Z\u0000",
];

const BAD_WEBSITES: unknown[] = [
  "", ".", "..", "../x", "../../etc", "./x", ".hidden", "_x", "_health", "-x", "a/b", "a\\b", "a b", "a\u0000b", "\u0000",
  "x".repeat(201), "été", "日本", "😀", "%2e%2e", "a%2Fb", "a\nb", " alpha.example", "alpha.example ", 5, 0, -1, 1.5,
  true, false, null, [], ["alpha.example"], {}, { name: "alpha.example" }, nestedArrays(100),
];

const CONTENT_TYPES = [
  "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=zzz",
  "multipart/form-data", "application/octet-stream", "application/json; charset=latin1", "application/xml", "",
  "a/b/c;;;=", "application/json, text/html", "*/*", "image/png", "application/json; charset=ébc",
];

const PATH_PIECES = [
  "..", ".", "%2e%2e", "%2E%2e", "%2e", ".%2e", "%2f", "%2F", "a%2fb", "%5c", "a%5Cb", "\\", "..\\..", "%00", "a%00b", "%",
  "%Z", "%ZZ", "%E0%A4%A", "%C0%AF", "%C3%A9", "%F0%9F%98%80", "été", "日本", "😀", ".hidden", "..x", "_x", "_", "__proto__",
  "constructor", "_health", "_metrics", "~", "!", "*", "'", "(", ")", "+", "%20", "@", ":", ";", ",", "$", "&", "=", "-x",
  "alpha.example", "beta.example", "Gamma_site-3", "count", "events", "time", "bulk", "countries", "x", "",
];

/** Each makes every query route refuse the request, whatever else the query holds. */
const BAD_QUERIES = [
  "start=garbage", "start=0000-01-01T00:00:00Z", "start=-1", "start=1.5", "start=%00", "start=%ZZ", "start=a&start=b",
  "start=10000-01-01T00:00:00Z", "start=2016-01-01T00:00:00Z&end=2015-01-01T00:00:00Z", "start=%E0%A4%A", "end=yesterday",
];
const EXTRA_QUERIES = ["interval=0", "interval=-5", "interval=1.5", "unique=maybe", "cache=%00", "access_token=x", "%ZZ", "&&&", "a=%", "start[]=x", "start="];

function generateCases(seed: number, count: number): FuzzCase[] {
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
        return chance(0.5) ? notAnObject() : pick<unknown>([{}, { list: {} }, { list: "x" }, { list: null }, { list: 3 }, { lists: [item()] }, { list: { 0: item() } }]);
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
  const routePath = (route: "single" | "bulk" | "multi") => (route === "multi" ? "/bulk" : route === "bulk" ? `/${pick(SEEDED)}/bulk` : `/${pick(SEEDED)}`);

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
          bytes.splice(int(0, bytes.length), 0, ...pick([[0xc3, 0x28], [0xa0, 0xa1], [0xe2, 0x28, 0xa1], [0xf0, 0x28, 0x8c, 0xbc], [0xff], [0xfe, 0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]]));
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
      add(`${route}: over --max-bulk-items`, "POST", routePath(route === "single" ? "bulk" : route), { list: Array.from({ length: 100_001 }, () => ({})) });
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
        ["PUT", `/${site}`], ["PATCH", `/${site}`], ["OPTIONS", `/${site}`], ["PUT", "/"], ["PATCH", "/"], ["OPTIONS", "/"],
        ["POST", "/"], ["DELETE", "/"], ["PUT", "/bulk"], ["PATCH", `/${site}/bulk`], ["DELETE", `/${site}/bulk`],
        ["PUT", `/${site}/bulk`], ["OPTIONS", `/${site}/bulk`], ["POST", `/${site}/${pick(["count", "events", "time", "countries", "x"])}`],
        ["DELETE", `/${site}/${pick(["count", "events", "time", "platforms", "domains", "x"])}`], ["PUT", `/${site}/count`],
        ["PATCH", `/${site}/time`], ["OPTIONS", `/${site}/count`], ["POST", `/${site}/bulk/extra`], ["POST", `/${site}/count/extra`],
        ["PUT", "/_health"], ["DELETE", "/_health"], ["POST", "/_health"], ["PATCH", "/_metrics"], ["POST", "/_metrics"], ["POST", "/_nope"],
        ["GET", `/${site}/count/extra?start=garbage`], ["GET", `/_nope/${site}`], ["GET", `/${site}/bulk`],
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
function pathSafety(path: string): { getIsSafe: boolean; deleteIsSafe: boolean } {
  const readings: string[][] = [];
  const segments = (p: string) =>
    p.split("/").filter((s) => s !== "").map((s) => {
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

function describeCase(index: number, c: FuzzCase): string {
  const body = c.body ? Buffer.from(c.body) : undefined;
  const preview = body ? JSON.stringify(body.subarray(0, 160).toString("latin1")) + (body.length > 160 ? `… (${body.length} bytes)` : "") : "(none)";
  return `#${index} [${c.kind}] ${c.method} ${JSON.stringify(c.path.length > 200 ? `${c.path.slice(0, 200)}…(${c.path.length})` : c.path)} content-type=${JSON.stringify(c.headers["Content-Type"] ?? null)}${c.chunked ? ` chunked(${c.chunked})` : ""} body=${preview}`;
}

describe("a seeded fuzz run of malformed requests", () => {
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) >>> 0 : (Date.now() ^ (Math.random() * 0x1_0000_0000)) >>> 0;
  const count = Number(process.env.FUZZ_COUNT ?? 1500);
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  test(`at least 1,000 requests: each a 4xx {code, message}, nothing written, the service still up (FUZZ_SEED=${seed})`, async () => {
    console.log(`fuzz: FUZZ_SEED=${seed}, ${count} requests (replay: FUZZ_SEED=${seed} bun test test/hostile.test.ts)`);
    expect(count).toBeGreaterThanOrEqual(1000);
    const replay = `FUZZ_SEED=${seed} (replay: FUZZ_SEED=${seed} bun test test/hostile.test.ts)`;

    // A small valid data set, in two months and three websites.
    const seedRequests: [string, unknown][] = [
      [`/${SEEDED[0]}`, EVENT],
      [`/${SEEDED[0]}/bulk`, { list: [{ ...EVENT, ip: "10.0.0.2" }, { ...EVENT, time: "2015-12-02T08:00:00Z" }] }],
      [`/${SEEDED[1]}/bulk`, { list: [EVENT, EVENT, { ...EVENT, event: "view" }] }],
      ["/bulk", { list: [{ ...EVENT, website: SEEDED[2] }, { ...EVENT, website: SEEDED[1], time: "2015-10-31T23:59:59Z" }] }],
    ];
    for (const [path, body] of seedRequests) {
      expect((await request(`${server.url}${path}`, { body })).status).toBe(200);
    }
    const snapshot = async () => {
      const sites: Record<string, unknown> = {};
      for (const site of SEEDED) {
        const count = await request(`${server.url}/${site}/count`);
        const list = await request(`${server.url}/${site}`);
        sites[site] = { count: [count.status, count.body], list: [list.status, list.body] };
      }
      return sites;
    };
    const dataBefore = await snapshot();
    expect(dataBefore).toMatchObject({
      [SEEDED[0]!]: { count: [200, { total: 3, unique: 2 }] },
      [SEEDED[1]!]: { count: [200, { total: 4, unique: 1 }] },
      [SEEDED[2]!]: { count: [200, { total: 1, unique: 1 }] },
    });
    const treeBefore = fileTree(parentOf(server));
    const outputBefore = server.output().length;

    const started = performance.now();
    const cases = generateCases(seed, count);
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const index = next++;
        const c = cases[index]!;
        const answer = await rawRequest(server.url, { method: c.method, path: c.path, headers: c.headers, body: c.body, chunked: c.chunked });
        const problem = problemWithRefusal(answer);
        if (problem) failures.push(`${describeCase(index, c)}\n    → ${problem}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const elapsed = performance.now() - started;
    console.log(`fuzz: ${cases.length} requests in ${Math.round(elapsed)} ms, ${failures.length} wrong answers`);

    const problems: string[] = [];
    if (failures.length > 0) {
      problems.push(`${failures.length} of ${cases.length} answers were not a 4xx {code, message}:\n  ${failures.slice(0, 15).join("\n  ")}`);
    }
    if (!isAlive(server.pid)) problems.push(`the service died during the run; its output:\n${server.output().slice(-3000)}`);
    else {
      const welcome = await rawRequest(server.url, { method: "GET", path: "/" });
      if (welcome.status !== 200 || json(welcome)?.message !== "Welcome to micro-analytics!") {
        problems.push(`GET / after the run answered ${welcome.status} ${welcome.text.slice(0, 200)} ${welcome.dropped ?? ""}`);
      }
      const changes = treeChanges(treeBefore, fileTree(parentOf(server)));
      if (changes.added.length + changes.removed.length > 0) {
        problems.push(`the disk changed: added ${JSON.stringify(changes.added.slice(0, 20))}, removed ${JSON.stringify(changes.removed.slice(0, 20))}`);
      }
      const dataAfter = await snapshot();
      if (JSON.stringify(dataAfter) !== JSON.stringify(dataBefore)) {
        problems.push(`stored events changed:\n  before ${JSON.stringify(dataBefore).slice(0, 1500)}\n  after  ${JSON.stringify(dataAfter).slice(0, 1500)}`);
      }
      const logged = server.output().slice(outputBefore);
      const faults = logged.split("\n").filter((line) => /\bERROR\b|"level":"error"|TypeError|RangeError|Unhandled|uncaught/i.test(line));
      if (faults.length > 0) problems.push(`the service logged faults:\n  ${faults.slice(0, 10).join("\n  ")}`);
    }
    if (problems.length > 0) throw new Error(`fuzz run failed with ${replay}:\n${problems.join("\n")}`);
  }, 60_000);
});

// ---------------------------------------------------------------------------
// 2. Targeted cases.
// ---------------------------------------------------------------------------

describe("targeted hostile bodies", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  let sites = 0;
  const freshSite = () => `hostile-${++sites}.example`;

  /** Sends the request to a website that does not exist, and checks the refusal and that nothing was written. */
  async function expectRefused(req: (site: string) => RawRequest, status: number, code: string | string[]) {
    const site = freshSite();
    const before = fileTree(parentOf(server));
    const answer = await rawRequest(server.url, req(site));
    expect(problemWithRefusal(answer)).toBeUndefined();
    expect(answer.status).toBe(status);
    const codes = Array.isArray(code) ? code : [code];
    expect(codes).toContain(json(answer).code);
    await expectUnchangedSince(server, before);
    const query = await request(`${server.url}/${site}`);
    expect({ status: query.status, code: query.body.code }).toEqual({ status: 404, code: "InvalidDatabaseName" });
    return json(answer) as { code: string; message: string };
  }
  const post = (body: string | Uint8Array, path = (site: string) => `/${site}`) => (site: string): RawRequest => ({
    method: "POST",
    path: path(site),
    headers: { "Content-Type": "application/json" },
    body,
  });

  test("an invalid UTF-8 body is 400 InvalidJSON", async () => {
    const body = Buffer.concat([Buffer.from('{"event":"caf'), Buffer.from([0xc3, 0x28]), Buffer.from('","time":"2015-11-24T12:00:00Z"}')]);
    const answer = await expectRefused(post(body), 400, "InvalidJSON");
    expect(answer.message).toContain("UTF-8");
  });

  test.each([
    ["a lone continuation byte", [0x80]],
    ["an overlong NUL", [0xc0, 0x80]],
    ["a UTF-16 surrogate", [0xed, 0xa0, 0x80]],
    ["a code point over U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
    ["0xFF", [0xff]],
  ])("a body with %s inside a string is 400 InvalidJSON", async (_what, bytes) => {
    const body = Buffer.concat([Buffer.from('{"event":"a'), Buffer.from(bytes), Buffer.from('b"}')]);
    await expectRefused(post(body), 400, "InvalidJSON");
  });

  test("a NUL inside a string (escaped \\u0000) is 400 InvalidEvent naming the field", async () => {
    const answer = await expectRefused(post(JSON.stringify({ ...EVENT, path: "/a\u0000b" })), 400, "InvalidEvent");
    expect(answer.message).toContain("path");
  });

  test("a NUL inside a header value is 400 InvalidEvent", async () => {
    await expectRefused(post(JSON.stringify({ ...EVENT, headers: { "User-Agent": "x\u0000y" } })), 400, "InvalidEvent");
  });

  test("a raw NUL byte inside a string is 400 InvalidJSON", async () => {
    const body = Buffer.concat([Buffer.from('{"event":"a'), Buffer.from([0]), Buffer.from('b"}')]);
    await expectRefused(post(body), 400, "InvalidJSON");
  });

  const DEEP = "[".repeat(100_000) + "]".repeat(100_000);

  test("JSON nested 100,000 deep is refused with a 400, on every write route", async () => {
    await expectRefused(post(DEEP), 400, ["InvalidJSON", "InvalidEvent", "LimitExceeded"]);
    await expectRefused(post(DEEP, (site) => `/${site}/bulk`), 400, ["InvalidJSON", "InvalidEvent", "LimitExceeded"]);
    await expectRefused(post(DEEP, () => "/bulk"), 400, ["InvalidJSON", "InvalidEvent", "LimitExceeded"]);
    await expectAliveAndWelcoming(server);
  });

  test("JSON nested 100,000 deep where a field or an item goes is refused with a 400", async () => {
    await expectRefused(post(`{"event":${DEEP}}`), 400, ["InvalidJSON", "InvalidEvent", "LimitExceeded"]);
    await expectRefused(post(`{"headers":{"User-Agent":${DEEP}}}`), 400, ["InvalidJSON", "InvalidEvent", "LimitExceeded"]);
    await expectRefused(post(`{"list":[${DEEP}]}`, (site) => `/${site}/bulk`), 400, ["InvalidJSON", "InvalidEvent", "LimitExceeded"]);
    await expectAliveAndWelcoming(server);
  });

  test("an event carrying an unknown field nested 100,000 deep is refused (very deep nesting), not stored", async () => {
    const objects = '{"a":'.repeat(100_000) + "1" + "}".repeat(100_000);
    await expectRefused(post(`{"time":"2015-11-24T12:00:00Z","extra":${objects}}`), 400, ["InvalidJSON", "InvalidEvent", "LimitExceeded"]);
    await expectRefused(post(`{"list":[{"extra":${DEEP}}]}`, (site) => `/${site}/bulk`), 400, ["InvalidJSON", "InvalidEvent", "LimitExceeded"]);
  });

  test.each(["GET", "POST", "DELETE"])("%s of a website segment with malformed percent-encoding (and a trailing slash) is 400 InvalidWebsiteName", async (method) => {
    const before = fileTree(parentOf(server));
    for (const path of ["/%Z", "/a%Z", "/%C0%AF", "/%Z/", "/a%Z/", "/%ZZ/", "/%C0%AF/", "/%E0%A4%A/", "/%ZZ/count", "/%ZZ/count/", "/%C0%AF/bulk", "/%C0%AF/bulk/"]) {
      // Other methods on /:website/count and /:website/bulk are rightly 405 before the website is looked at.
      if ((method !== "POST" && path.includes("/bulk")) || (method !== "GET" && path.includes("/count"))) continue;
      const answer = await rawRequest(server.url, { method, path, headers: { "Content-Type": "application/json" }, body: method === "POST" ? JSON.stringify(EVENT) : undefined });
      expect({ path, problem: problemWithRefusal(answer) }).toEqual({ path, problem: undefined });
      expect({ path, status: answer.status, code: json(answer).code }).toEqual({ path, status: 400, code: "InvalidWebsiteName" });
    }
    await expectUnchangedSince(server, before);
  });

  test.each([
    ["1.5 (a float)", 1.5],
    ["-1 (before 1970)", -1],
    ['"0000-01-01T00:00:00Z" (year 0)', "0000-01-01T00:00:00Z"],
    ['"10000-01-01T00:00:00Z" (year 10000)', "10000-01-01T00:00:00Z"],
    ['"-1" (a negative Unix time)', "-1"],
    ['"1.5" (a float Unix time)', "1.5"],
    ["1e400", new RawJson("1e400")],
    ["null", null],
    ["true", true],
    ["[]", []],
    ["{}", {}],
    ['"" (empty)', ""],
    ['"garbage"', "garbage"],
  ])("time %s is 400 InvalidTimeFormat naming time", async (_what, time) => {
    const answer = await expectRefused(post(toJson({ ...EVENT, time })), 400, "InvalidTimeFormat");
    expect(answer.message).toContain("time");
  });

  test("a bad time in one bulk item among good ones writes none of them", async () => {
    const answer = await expectRefused(
      post(toJson({ list: [EVENT, EVENT, { ...EVENT, time: "10000-01-01T00:00:00Z" }, EVENT] }), (site) => `/${site}/bulk`),
      400,
      "InvalidTimeFormat",
    );
    expect(answer.message).toContain("list[2].time");
  });

  test.each([
    ["missing", undefined, "InvalidEvent"],
    ["..", "..", "InvalidWebsiteName"],
    ["../escape", "../escape", "InvalidWebsiteName"],
    ["a number", 5, "InvalidWebsiteName"],
    ["null", null, "InvalidWebsiteName"],
    ["empty", "", "InvalidWebsiteName"],
  ])("POST /bulk with a website that is %s in one item writes nothing", async (_what, website, code) => {
    const answer = await expectRefused(
      (site) => post(toJson({ list: [{ ...EVENT, website: site }, { ...EVENT, website }] }), () => "/bulk")(site),
      400,
      code,
    );
    expect(answer.message).toContain("list[1].website");
  });
});

describe("limits (--max-body-size 2048 --max-field-length 100 --max-headers 3 --max-bulk-items 5)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ args: ["--max-body-size", "2048", "--max-field-length", "100", "--max-headers", "3", "--max-bulk-items", "5"] });
  });
  afterAll(() => server.stop());

  let sites = 0;
  const freshSite = () => `limit-${++sites}.example`;
  const headers = { "Content-Type": "application/json" };

  /** A valid single event whose JSON is exactly `bytes` long (padded with whitespace, so no field is long). */
  const eventOfSize = (bytes: number) => {
    const event = JSON.stringify(EVENT);
    const body = event.slice(0, -1) + " ".repeat(bytes - event.length) + "}";
    expect(Buffer.byteLength(body)).toBe(bytes);
    return body;
  };

  async function expectOver(path: (site: string) => string, body: string, req: Partial<RawRequest>, status: number, code: string, flag: string) {
    const site = freshSite();
    const before = fileTree(parentOf(server));
    const answer = await rawRequest(server.url, { method: "POST", path: path(site), headers, body, ...req });
    expect(problemWithRefusal(answer)).toBeUndefined();
    expect({ status: answer.status, code: json(answer).code }).toEqual({ status, code });
    expect(json(answer).message).toContain(flag);
    await expectUnchangedSince(server, before);
    expect((await request(`${server.url}/${site}`)).status).toBe(404);
  }

  async function expectAt(path: (site: string) => string, body: string, inserted: number, req: Partial<RawRequest> = {}) {
    const site = freshSite();
    const answer = await rawRequest(server.url, { method: "POST", path: path(site), headers, body, ...req });
    expect({ status: answer.status, body: json(answer) }).toEqual({ status: 200, body: { inserted } });
  }

  const single = (site: string) => `/${site}`;
  const bulk = (site: string) => `/${site}/bulk`;

  test("a body one byte over --max-body-size is 413 PayloadTooLarge naming the flag", async () => {
    await expectOver(single, eventOfSize(2049), {}, 413, "PayloadTooLarge", "--max-body-size");
  });

  test("a body exactly at --max-body-size is stored", async () => {
    await expectAt(single, eventOfSize(2048), 1);
  });

  test("a body over --max-body-size sent chunked, without Content-Length, is 413 PayloadTooLarge", async () => {
    await expectOver(single, eventOfSize(3000), { chunked: 500 }, 413, "PayloadTooLarge", "--max-body-size");
  });

  test("a body exactly at --max-body-size sent chunked is stored", async () => {
    await expectAt(single, eventOfSize(2048), 1, { chunked: 300 });
  });

  test("a body far over --max-body-size (100 KiB) is 413 with the JSON error body too", async () => {
    await expectOver(single, eventOfSize(100 * 1024), {}, 413, "PayloadTooLarge", "--max-body-size");
    await expectAliveAndWelcoming(server);
  });

  test("a field one character over --max-field-length is 400 LimitExceeded naming the flag", async () => {
    await expectOver(single, JSON.stringify({ ...EVENT, event: "e".repeat(101) }), {}, 400, "LimitExceeded", "--max-field-length");
    await expectOver(bulk, JSON.stringify({ list: [EVENT, { ...EVENT, ip: "1".repeat(101) }] }), {}, 400, "LimitExceeded", "--max-field-length");
  });

  test("a header value one character over --max-field-length is 400 LimitExceeded naming the flag", async () => {
    await expectOver(single, JSON.stringify({ ...EVENT, headers: { "User-Agent": "u".repeat(101) } }), {}, 400, "LimitExceeded", "--max-field-length");
  });

  test("fields exactly at --max-field-length are stored", async () => {
    await expectAt(single, JSON.stringify({ ...EVENT, event: "e".repeat(100), headers: { "User-Agent": "u".repeat(100) } }), 1);
  });

  test("one header over --max-headers is 400 LimitExceeded naming the flag", async () => {
    await expectOver(single, JSON.stringify({ ...EVENT, headers: { A: "1", B: "2", C: "3", D: "4" } }), {}, 400, "LimitExceeded", "--max-headers");
  });

  test("exactly --max-headers headers are stored", async () => {
    await expectAt(single, JSON.stringify({ ...EVENT, headers: { A: "1", "User-Agent": "x", Referer: "https://example.org/" } }), 1);
  });

  test("one bulk item over --max-bulk-items is 400 LimitExceeded naming the flag, on both bulk routes", async () => {
    await expectOver(bulk, JSON.stringify({ list: Array.from({ length: 6 }, () => EVENT) }), {}, 400, "LimitExceeded", "--max-bulk-items");
    const site = freshSite();
    await expectOver(() => "/bulk", JSON.stringify({ list: Array.from({ length: 6 }, () => ({ ...EVENT, website: site })) }), {}, 400, "LimitExceeded", "--max-bulk-items");
    expect((await request(`${server.url}/${site}`)).status).toBe(404);
  });

  test("exactly --max-bulk-items items are stored, on both bulk routes", async () => {
    await expectAt(bulk, JSON.stringify({ list: Array.from({ length: 5 }, () => EVENT) }), 5);
    const site = freshSite();
    await expectAt(() => "/bulk", JSON.stringify({ list: Array.from({ length: 5 }, () => ({ ...EVENT, website: site })) }), 5);
  });
});

describe("unknown routes and wrong methods", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
    expect((await request(`${server.url}/site`, { body: EVENT })).status).toBe(200);
  });
  afterAll(() => server.stop());

  test.each([
    ["GET", "/a/b/c"],
    ["POST", "/a/b/c"],
    ["PUT", "/a/b/c"],
    ["GET", "/_nope"],
    ["POST", "/_nope"],
    ["DELETE", "/_nope"],
    ["GET", "/_nope/count"],
    ["GET", "/site/count/extra"],
    ["POST", "/site/bulk/extra"],
    ["GET", "/_metrics/count"],
  ])("%s %s is 404 NotFound with the JSON error body", async (method, path) => {
    const before = fileTree(parentOf(server));
    const answer = await rawRequest(server.url, { method, path, headers: { "Content-Type": "application/json" }, body: method === "GET" ? undefined : JSON.stringify(EVENT) });
    expect(problemWithRefusal(answer)).toBeUndefined();
    expect({ status: answer.status, code: json(answer).code }).toEqual({ status: 404, code: "NotFound" });
    await expectUnchangedSince(server, before);
  });

  test.each([
    ["PUT", "/site", "GET, POST, DELETE"],
    ["PATCH", "/site", "GET, POST, DELETE"],
    ["PATCH", "/", "GET"],
    ["POST", "/", "GET"],
    ["POST", "/site/count", "GET"],
    ["DELETE", "/site/count", "GET"],
    ["PUT", "/site/bulk", "POST"],
    ["DELETE", "/site/bulk", "POST"],
    ["PUT", "/_health", "GET"],
    ["POST", "/_health", "GET"],
    ["DELETE", "/_metrics", "GET"],
    ["OPTIONS", "/site", "GET, POST, DELETE"],
  ])("%s %s is 405 MethodNotAllowed with Allow: %s, and writes nothing", async (method, path, allow) => {
    const before = fileTree(parentOf(server));
    const answer = await rawRequest(server.url, { method, path, headers: { "Content-Type": "application/json" }, body: JSON.stringify(EVENT) });
    expect(problemWithRefusal(answer)).toBeUndefined();
    expect({ status: answer.status, code: json(answer).code, allow: answer.headers.allow }).toEqual({ status: 405, code: "MethodNotAllowed", allow });
    await expectUnchangedSince(server, before);
    const count = await request(`${server.url}/site/count`);
    expect(count.body).toEqual({ total: 1, unique: 1 });
  });
});

describe("hostile HTTP heads", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  // The router finds the path by assuming a host of at least four characters;
  // the service refuses requests whose Host is shorter (or missing) rather than
  // let `/ab/victim` reach `/victim`.
  const REFUSED = { status: 400, code: "InvalidRequest" };

  test("a short Host header cannot change the route a path reaches: it is refused", async () => {
    expect((await request(`${server.url}/victim`, { body: EVENT })).status).toBe(200);
    const before = fileTree(parentOf(server));
    // Host "x" makes "http://x/ab/victim", which a careless router reads as DELETE /victim.
    const del = await rawRequest(server.url, { method: "DELETE", path: "/ab/victim", host: "x" });
    expect({ status: del.status, code: json(del).code }).toEqual(REFUSED);
    const write = await rawRequest(server.url, { method: "POST", path: "/ab/victim", host: "x", headers: { "Content-Type": "application/json" }, body: JSON.stringify(EVENT) });
    expect({ status: write.status, code: json(write).code }).toEqual(REFUSED);
    await expectUnchangedSince(server, before);
    expect((await request(`${server.url}/victim/count`)).body).toEqual({ total: 1, unique: 1 });
  });

  test("an empty Host header gets a JSON 400, never a 5xx", async () => {
    const answer = await rawRequest(server.url, { method: "GET", path: "/nobody.example/count", host: "" });
    expect(problemWithRefusal(answer)).toBeUndefined();
    expect({ status: answer.status, code: json(answer).code }).toEqual(REFUSED);
  });

  test("an HTTP/1.0 request without a Host header is refused with JSON, and the service stays up", async () => {
    // On a server of its own: a fault after the answer would take the process down.
    const own = await startServer();
    try {
      const welcome = await rawRequest(own.url, { method: "GET", path: "/", host: null, version: "HTTP/1.0" });
      expect({ status: welcome.status, code: json(welcome).code }).toEqual(REFUSED);
      // A fault after the answer (in the request log) only shows a moment later.
      await Bun.sleep(1500);
      expect({ alive: isAlive(own.pid), output: own.output().includes("TypeError") ? own.output().slice(-1500) : "" }).toEqual({ alive: true, output: "" });
      await expectAliveAndWelcoming(own);
    } finally {
      await own.stop();
    }
  });

  test("an HTTP/1.0 request without a Host header and a bad body is a 4xx {code, message} and writes nothing", async () => {
    const own = await startServer();
    try {
      const bad = await rawRequest(own.url, { method: "POST", path: "/nohost.example", host: null, version: "HTTP/1.0", headers: { "Content-Type": "application/json" }, body: "{" });
      expect({ problem: problemWithRefusal(bad), code: json(bad).code }).toEqual({ problem: undefined, code: "InvalidRequest" });
      expect((await request(`${own.url}/nohost.example/count`)).status).toBe(404);
    } finally {
      await own.stop();
    }
  });
});

// ---------------------------------------------------------------------------
// 3. Auth under hostility.
// ---------------------------------------------------------------------------

describe("auth under hostility (--user alice --password s3cret)", () => {
  let server: TestServer;
  const SITE = "guarded.example";
  const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;
  const good = { Authorization: basic("alice", "s3cret") };

  beforeAll(async () => {
    server = await startServer({ args: ["--user", "alice", "--password", "s3cret"] });
    const seeded = await request(`${server.url}/${SITE}`, { body: EVENT, headers: { authorization: good.Authorization } });
    expect(seeded.status).toBe(200);
  });
  afterAll(() => server.stop());

  const ask = (method: string, path: string, authorization?: string, body?: string) =>
    rawRequest(server.url, {
      method,
      path,
      headers: { "Content-Type": "application/json", ...(authorization === undefined ? {} : { Authorization: authorization }) },
      body,
    });

  test("a wrong user and a wrong password get the same 401, byte for byte", async () => {
    const wrongUser = await ask("GET", `/${SITE}/count`, basic("mallory", "s3cret"));
    const wrongPassword = await ask("GET", `/${SITE}/count`, basic("alice", "guess"));
    const both = await ask("GET", `/${SITE}/count`, basic("mallory", "guess"));
    expect(wrongUser.status).toBe(401);
    expect(problemWithRefusal(wrongUser)).toBeUndefined();
    expect(json(wrongUser).code).toBe("InvalidCredentials");
    for (const other of [wrongPassword, both]) {
      expect({ status: other.status, body: other.text, challenge: other.headers["www-authenticate"] }).toEqual({
        status: wrongUser.status,
        body: wrongUser.text,
        challenge: wrongUser.headers["www-authenticate"],
      });
    }
    expect(wrongUser.headers["www-authenticate"]).toContain("Basic");
  });

  test("GET / and GET /_health answer without credentials", async () => {
    const welcome = await ask("GET", "/");
    expect(welcome.status).toBe(200);
    const health = await ask("GET", "/_health");
    expect({ status: health.status, body: json(health) }).toEqual({ status: 200, body: { status: "ok", writable: true, version: expect.any(String) } });
  });

  test("/_metrics and every website route need credentials, and refuse hostile ones without writing", async () => {
    const before = fileTree(parentOf(server));
    const routes: [string, string, string?][] = [
      ["GET", "/_metrics"],
      ["GET", `/${SITE}`],
      ["GET", `/${SITE}/count`],
      ["GET", `/${SITE}/countries`],
      ["GET", `/${SITE}/platforms`],
      ["GET", `/${SITE}/domains`],
      ["GET", `/${SITE}/events`],
      ["GET", `/${SITE}/time`],
      ["GET", `/${SITE}/nonsense`],
      ["GET", "/unknown.example/count"],
      ["GET", "/../etc/passwd"],
      ["POST", `/${SITE}`, JSON.stringify(EVENT)],
      ["POST", `/${SITE}`, "{not json"],
      ["POST", "/new.example", JSON.stringify(EVENT)],
      ["POST", `/${SITE}/bulk`, JSON.stringify({ list: [EVENT] })],
      ["POST", "/bulk", JSON.stringify({ list: [{ ...EVENT, website: SITE }] })],
      ["DELETE", `/${SITE}`],
    ];
    const hostile: (string | undefined)[] = [
      undefined,
      "",
      "Basic",
      "Basic ",
      "Basic !!!notbase64!!!",
      `Basic ${btoa("alice")}`,
      `Basic ${btoa("alice:")}`,
      `Basic ${btoa(":s3cret")}`,
      `Basic ${btoa("alice:s3cret\u0000")}`,
      `Basic ${btoa("alice:s3cretX")}`,
      `Basic ${btoa("ALICE:s3cret")}`,
      `basic ${btoa("mallory:x")}`,
      `Basic ${btoa("alice:" + "s".repeat(4000))}`,
      "Bearer s3cret",
      "Bearer ",
      `Digest username="alice"`,
      `${good.Authorization}, ${good.Authorization}`,
    ];
    const wrong: string[] = [];
    for (const [method, path, body] of routes) {
      for (const authorization of hostile) {
        const answer = await ask(method, path, authorization, body);
        const problem = problemWithRefusal(answer);
        const code = json(answer).code;
        if (problem || answer.status !== 401 || !["InvalidAuthentication", "InvalidCredentials"].includes(code) || !answer.headers["www-authenticate"]) {
          wrong.push(`${method} ${path} Authorization=${JSON.stringify(authorization?.slice(0, 60))}: ${answer.status} ${answer.text.slice(0, 120)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    await expectUnchangedSince(server, before);
    const count = await request(`${server.url}/${SITE}/count`, { headers: { authorization: good.Authorization } });
    expect({ status: count.status, body: count.body }).toEqual({ status: 200, body: { total: 1, unique: 1 } });
    const metrics = await ask("GET", "/_metrics", good.Authorization);
    expect(metrics.status).toBe(200);
  });
});
