/**
 * A view into the running service: GET /_health, GET /_metrics in the
 * Prometheus text format, and the request log (text or JSON, by level).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { request, startServer, type TestServer } from "../helpers/server";

const EVENT = { time: "2015-11-24T12:00:00Z", event: "download", path: "/README.md", ip: "10.0.0.1" };
const DECEMBER = { ...EVENT, time: "2015-12-03T08:00:00Z", ip: "10.0.0.2" };

/** The logger writes once per event-loop turn: wait until the output holds what a test waits for. */
async function waitForOutput(server: TestServer, done: (output: string) => boolean, timeoutMs = 3000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!done(server.output()) && Date.now() < deadline) await Bun.sleep(10);
  return server.output();
}

function fileTree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1) + (entry.isDirectory() ? "/" : ""))
    .sort();
}

async function scrape(server: TestServer, headers: Record<string, string> = {}): Promise<{ status: number; contentType: string; text: string }> {
  const response = await fetch(`${server.url}/_metrics`, { headers });
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", text: await response.text() };
}

/** The value of the sample with exactly this name and these labels (as the service writes them), or undefined. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** Every sample of a metric, by its label set. */
function samples(text: string, name: string): { labels: string; value: number }[] {
  const out: { labels: string; value: number }[] = [];
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match && match[1] === name) out.push({ labels: match[2] ?? "", value: Number(match[3]) });
  }
  return out;
}

// The Prometheus text exposition format, version 0.0.4.
const METRIC_NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const VALUE = "(?:[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?|[+-]?Inf|NaN)";
const SAMPLE_LINE = new RegExp(`^(${METRIC_NAME})(?:\\{(?:${LABEL}(?:,${LABEL})*,?)?\\})? ${VALUE}(?: -?\\d+)?$`);
const HELP_LINE = new RegExp(`^# HELP (${METRIC_NAME}) .*$`);
const TYPE_LINE = new RegExp(`^# TYPE (${METRIC_NAME}) (counter|gauge|histogram|summary|untyped)$`);

/** Checks the whole exposition; answers the problems found, one a line. */
function expositionProblems(text: string): string[] {
  const problems: string[] = [];
  const help = new Set<string>();
  const types = new Map<string, string>();
  if (!text.endsWith("\n")) problems.push("the exposition does not end with a newline");
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      const h = HELP_LINE.exec(line);
      const t = TYPE_LINE.exec(line);
      if (h) {
        if (help.has(h[1]!)) problems.push(`a second # HELP for ${h[1]}`);
        help.add(h[1]!);
      } else if (t) {
        if (types.has(t[1]!)) problems.push(`a second # TYPE for ${t[1]}`);
        types.set(t[1]!, t[2]!);
      } else if (/^# (HELP|TYPE)/.test(line)) {
        problems.push(`malformed: ${line}`);
      }
      continue;
    }
    const match = SAMPLE_LINE.exec(line);
    if (!match) {
      problems.push(`not exposition syntax: ${line}`);
      continue;
    }
    const name = match[1]!;
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, "");
    const type = types.get(family);
    if (type === undefined) problems.push(`no # TYPE before ${line}`);
    else if (family !== name && type !== "histogram" && type !== "summary") problems.push(`${name} is a ${type}, not a histogram`);
    if (!help.has(family)) problems.push(`no # HELP for ${family}`);
  }
  for (const name of types.keys()) if (!help.has(name)) problems.push(`no # HELP for ${name}`);
  return problems;
}

describe("GET /_health", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  test('answers 200 {"status": "ok", "writable": true, "version"} with the version GET / gives', async () => {
    const welcome = await request(`${server.url}/`);
    const health = await request(`${server.url}/_health`);
    expect({ status: health.status, body: health.body }).toEqual({
      status: 200,
      body: { status: "ok", writable: true, version: welcome.body.version },
    });
    expect(health.body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(health.headers.get("content-type")).toContain("application/json");
  });

  test("its write probe leaves nothing behind in the root", async () => {
    const parent = join(server.root, "..");
    const before = fileTree(parent);
    for (let i = 0; i < 5; i++) expect((await request(`${server.url}/_health`)).status).toBe(200);
    expect(fileTree(parent)).toEqual(before);
  });
});

describe("GET /_metrics", () => {
  let server: TestServer;
  let text: string;
  let contentType: string;
  const SITE = "metrics.example";

  beforeAll(async () => {
    server = await startServer();
    // A known sequence: 3 bulk POSTs of 2 events each (two months: two shards), 1 bad POST, 2 GETs.
    for (const list of [[EVENT, DECEMBER], [EVENT, EVENT], [DECEMBER, EVENT]]) {
      const response = await request(`${server.url}/${SITE}/bulk`, { body: { list } });
      expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: { inserted: 2 } });
    }
    const bad = await request(`${server.url}/${SITE}/bulk`, { body: { list: [EVENT, { ...EVENT, time: "garbage" }] } });
    expect(bad.status).toBe(400);
    for (let i = 0; i < 2; i++) {
      const count = await request(`${server.url}/${SITE}/count`);
      expect({ status: count.status, body: count.body }).toEqual({ status: 200, body: { total: 6, unique: 2 } });
    }
    ({ text, contentType } = await scrape(server));
  });
  afterAll(() => server.stop());

  test("is text/plain in the Prometheus text format", () => {
    expect(contentType).toStartWith("text/plain");
    expect(contentType).toContain("version=0.0.4");
  });

  test("every line is exposition syntax, and every metric has # HELP and # TYPE", () => {
    expect(expositionProblems(text)).toEqual([]);
    for (const name of [
      "micro_analytics_http_requests_total",
      "micro_analytics_http_request_duration_seconds",
      "micro_analytics_events_ingested_total",
      "micro_analytics_shards_open",
      "micro_analytics_pool_hits_total",
      "micro_analytics_pool_misses_total",
      "micro_analytics_pool_evictions_total",
      "micro_analytics_disk_bytes",
    ]) {
      expect(text).toContain(`# HELP ${name} `);
      expect(text).toMatch(new RegExp(`^# TYPE ${name} (counter|gauge|histogram)$`, "m"));
    }
  });

  test("counts requests by route pattern, method and status", () => {
    const requests = (route: string, method: string, status: number) =>
      sample(text, `micro_analytics_http_requests_total{route="${route}",method="${method}",status="${status}"}`);
    expect({
      bulk200: requests("/:website/bulk", "POST", 200),
      bulk400: requests("/:website/bulk", "POST", 400),
      count200: requests("/:website/count", "GET", 200),
    }).toEqual({ bulk200: 3, bulk400: 1, count200: 2 });
    expect(text).toMatch(/^# TYPE micro_analytics_http_requests_total counter$/m);
    // The route pattern, never the raw path: a website's name is no label.
    expect(text).not.toContain(SITE);
  });

  test("events_ingested_total equals the events stored (the refused request adds none)", () => {
    expect(sample(text, "micro_analytics_events_ingested_total")).toBe(6);
  });

  test("a latency histogram per route and method: cumulative buckets, +Inf equal to _count, a positive _sum", () => {
    const route = 'route="/:website/bulk",method="POST"';
    const buckets = samples(text, "micro_analytics_http_request_duration_seconds_bucket").filter((s) => s.labels.startsWith(`${route},`));
    expect(buckets.length).toBeGreaterThan(1);
    const bounds = buckets.map((b) => /le="([^"]+)"/.exec(b.labels)![1]!);
    expect(bounds.at(-1)).toBe("+Inf");
    const numeric = bounds.slice(0, -1).map(Number);
    expect(numeric).toEqual([...numeric].sort((a, b) => a - b));
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    const count = sample(text, `micro_analytics_http_request_duration_seconds_count{${route}}`);
    expect(count).toBe(4);
    expect(buckets.at(-1)!.value).toBe(count!);
    expect(sample(text, `micro_analytics_http_request_duration_seconds_sum{${route}}`)).toBeGreaterThan(0);
    expect(text).toMatch(/^# TYPE micro_analytics_http_request_duration_seconds histogram$/m);

    const countRoute = 'route="/:website/count",method="GET"';
    expect(sample(text, `micro_analytics_http_request_duration_seconds_bucket{${countRoute},le="+Inf"}`)).toBe(2);
    expect(sample(text, `micro_analytics_http_request_duration_seconds_count{${countRoute}}`)).toBe(2);
  });

  test("shards open, pool hits and misses, and bytes on disk are consistent with what was written", () => {
    const open = sample(text, "micro_analytics_shards_open");
    const hits = sample(text, "micro_analytics_pool_hits_total");
    const misses = sample(text, "micro_analytics_pool_misses_total");
    const evictions = sample(text, "micro_analytics_pool_evictions_total");
    const disk = sample(text, "micro_analytics_disk_bytes");
    // Two month shards were written (2015-11 and 2015-12) through the pool; /count,
    // asked twice, is answered by the query worker and its cache.
    expect(open).toBeGreaterThanOrEqual(1);
    expect(open).toBeLessThanOrEqual(2);
    expect(misses).toBeGreaterThanOrEqual(2);
    expect(misses).toBeGreaterThanOrEqual(open!);
    expect(hits).toBeGreaterThanOrEqual(0);
    const cacheHits = sample(text, "micro_analytics_cache_hits_total");
    const cacheMisses = sample(text, "micro_analytics_cache_misses_total");
    expect(cacheMisses).toBeGreaterThanOrEqual(1);
    expect(cacheHits! + cacheMisses!).toBeGreaterThanOrEqual(2);
    expect(sample(text, "micro_analytics_cache_bytes")).toBeGreaterThan(0);
    expect(evictions).toBe(0);
    expect(disk).toBeGreaterThan(0);
    expect(text).toMatch(/^# TYPE micro_analytics_shards_open gauge$/m);
    expect(text).toMatch(/^# TYPE micro_analytics_pool_hits_total counter$/m);
    expect(text).toMatch(/^# TYPE micro_analytics_pool_misses_total counter$/m);
    expect(text).toMatch(/^# TYPE micro_analytics_disk_bytes gauge$/m);
  });

  test("counters only grow, and the scrape itself is counted on the next one", async () => {
    const next = (await scrape(server)).text;
    expect(expositionProblems(next)).toEqual([]);
    expect(sample(next, 'micro_analytics_http_requests_total{route="/_metrics",method="GET",status="200"}')).toBeGreaterThanOrEqual(1);
    for (const line of text.split("\n")) {
      const match = /^(micro_analytics_\w+_total(?:\{.*\})?) (\S+)$/.exec(line);
      if (!match) continue;
      expect({ series: match[1], grew: (sample(next, match[1]!) ?? -1) >= Number(match[2]) }).toEqual({ series: match[1], grew: true });
    }
  });
});

describe("GET /_metrics with auth on (--user u --password p --token t)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ args: ["--user", "u", "--password", "p", "--token", "t"] });
  });
  afterAll(() => server.stop());

  test("is 401 without credentials, and with wrong ones", async () => {
    for (const headers of [{}, { authorization: `Basic ${btoa("u:wrong")}` }, { authorization: "Bearer wrong" }] as Record<string, string>[]) {
      const response = await request(`${server.url}/_metrics`, { headers });
      expect({ status: response.status, code: response.body.code }).toEqual({
        status: 401,
        code: Object.keys(headers).length === 0 ? "InvalidAuthentication" : "InvalidCredentials",
      });
      expect(response.headers.get("www-authenticate")).toBeTruthy();
      expect(JSON.stringify(response.body)).not.toContain("micro_analytics_");
    }
  });

  test("is 200 with basic or bearer credentials", async () => {
    for (const authorization of [`Basic ${btoa("u:p")}`, "Bearer t"]) {
      const { status, contentType, text } = await scrape(server, { authorization });
      expect({ status, contentType: contentType.split(";")[0] }).toEqual({ status: 200, contentType: "text/plain" });
      expect(expositionProblems(text)).toEqual([]);
    }
  });

  test("/_health still answers without credentials", async () => {
    const health = await request(`${server.url}/_health`);
    expect({ status: health.status, status_: health.body.status }).toEqual({ status: 200, status_: "ok" });
  });
});

// ---------------------------------------------------------------------------
// The request log.
// ---------------------------------------------------------------------------

/** `POST /site 200 1.2ms`, in a text line (before its bytes= and client= fields) or as a JSON line's msg. */
const REQUEST_LINE = /(GET|POST|PUT|PATCH|DELETE|OPTIONS) (\/\S*) (\d{3}) (\d+(?:\.\d+)?)ms(?: |$)/;

describe("the request log, as text (the default)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  test("one line per request with method, path, status and duration", async () => {
    const site = "log-text.example";
    const asked: [string, string, number][] = [
      ["POST", `/${site}`, 200],
      ["POST", `/${site}/bulk`, 200],
      ["POST", `/${site}`, 400],
      ["GET", `/${site}/count`, 200],
      ["GET", `/${site}/events`, 200],
      ["GET", "/unknown-log.example", 404],
      ["GET", "/a/b/c", 404],
      ["PUT", `/${site}`, 405],
      ["DELETE", `/${site}`, 200],
    ];
    const start = server.output().length;
    for (const [method, path, status] of asked) {
      const body = method !== "POST" ? undefined : status === 400 ? "{broken" : path.endsWith("/bulk") ? JSON.stringify({ list: [EVENT, EVENT] }) : JSON.stringify(EVENT);
      const response = await request(`${server.url}${path}`, { method, raw: body });
      expect({ method, path, status: response.status }).toEqual({ method, path, status });
    }
    const requestLines = (output: string) =>
      output.slice(start).split("\n").filter((line) => REQUEST_LINE.test(line));
    const output = await waitForOutput(server, (o) => requestLines(o).length >= asked.length);
    const lines = requestLines(output);
    expect(lines.map((line) => REQUEST_LINE.exec(line)!.slice(1, 4))).toEqual(asked.map(([m, p, s]) => [m, p, String(s)]));
    for (const line of lines) {
      expect(line).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z INFO /);
      expect(Number(REQUEST_LINE.exec(line)![4])).toBeGreaterThanOrEqual(0);
    }
  });

  test("never the query string, which may carry a token", async () => {
    const start = server.output().length;
    const site = "log-query.example";
    expect((await request(`${server.url}/${site}`, { body: EVENT })).status).toBe(200);
    // `cache` takes any value: an unknown parameter (access_token, say) would be a 400.
    const response = await request(`${server.url}/${site}/count?cache=secret&start=2015-01-01T00:00:00Z`);
    expect(response.status).toBe(200);
    await request(`${server.url}/${site}/count?start=secret`);
    const output = await waitForOutput(server, (o) => (o.slice(start).match(new RegExp(`GET /${site.replace(".", "\\.")}/count `, "g")) ?? []).length >= 2);
    const logged = output.slice(start);
    expect(logged).toContain(`GET /${site}/count 200 `);
    expect(logged).toContain(`GET /${site}/count 400 `);
    expect(logged).not.toContain("secret");
    expect(logged).not.toContain("access_token");
    expect(logged).not.toContain("?");
  });
});

describe("the request log with --log-format json", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ args: ["--log-format", "json"] });
  });
  afterAll(() => server.stop());

  test("every line is a JSON object with time, level and msg; request lines keep method, path, status and duration", async () => {
    const site = "log-json.example";
    expect((await request(`${server.url}/${site}`, { body: EVENT })).status).toBe(200);
    expect((await request(`${server.url}/${site}`, { raw: "{" })).status).toBe(400);
    expect((await request(`${server.url}/${site}/count`)).status).toBe(200);
    const output = await waitForOutput(server, (o) => o.includes(`GET /${site}/count 200`));
    const lines = output.split("\n").filter((line) => line.trim() !== "");
    const parsed = lines.map((line) => {
      try {
        return JSON.parse(line);
      } catch {
        return { notJson: line };
      }
    });
    for (const entry of parsed) {
      expect(entry).toEqual(expect.objectContaining({ time: expect.any(String), level: expect.any(String), msg: expect.any(String) }));
      expect(Number.isNaN(Date.parse(entry.time))).toBe(false);
      expect(["debug", "info", "notice", "warn", "error"]).toContain(entry.level);
    }
    expect(parsed.some((entry) => /listening on/.test(entry.msg))).toBe(true);
    const requests = parsed.filter((entry) => REQUEST_LINE.test(entry.msg ?? ""));
    expect(requests.map((entry) => REQUEST_LINE.exec(entry.msg)!.slice(1, 4))).toEqual([
      ["POST", `/${site}`, "200"],
      ["POST", `/${site}`, "400"],
      ["GET", `/${site}/count`, "200"],
    ]);
    for (const entry of requests) expect(entry.level).toBe("info");
  });
});

describe("the request log with --log-level warn", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ args: ["--log-level", "warn"] });
  });
  afterAll(() => server.stop());

  test("has no request lines, but still the start line", async () => {
    const site = "log-warn.example";
    expect((await request(`${server.url}/${site}`, { body: EVENT })).status).toBe(200);
    expect((await request(`${server.url}/${site}`, { raw: "{" })).status).toBe(400);
    expect((await request(`${server.url}/${site}/count`)).status).toBe(200);
    expect((await request(`${server.url}/a/b/c`)).status).toBe(404);
    // Lines are flushed once per event-loop turn: give any that would come the time to.
    await Bun.sleep(300);
    const output = server.output();
    expect(output).toContain("listening on");
    expect(output.split("\n").filter((line) => REQUEST_LINE.test(line))).toEqual([]);
    expect(output).not.toContain(site);
  });
});
