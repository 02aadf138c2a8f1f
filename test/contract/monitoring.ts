/**
 * A view into the running service: GET /_health, and GET /_metrics in the
 * Prometheus text format. (The request log is in test/process/request-log.test.ts.)
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { fileTree } from "../helpers/shards";
import type { Target, Targets } from "../helpers/target";
import { waitFor } from "../helpers/wait";

const EVENT = { time: "2015-11-24T12:00:00Z", event: "download", path: "/README.md", ip: "10.0.0.1" };
const DECEMBER = { ...EVENT, time: "2015-12-03T08:00:00Z", ip: "10.0.0.2" };

async function scrape(server: Target, headers: Record<string, string> = {}): Promise<{ status: number; contentType: string; text: string }> {
  const response = await server.fetch("/_metrics", { headers });
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

export function monitoringContract(targets: Targets) {
  describe("GET /_health", () => {
    let server: Target;
    beforeAll(async () => {
      server = await targets.shared();
    });

    test('answers 200 {"status": "ok", "writable": true, "version"} with the version GET / gives', async () => {
      const welcome = await server.request(`/`);
      const health = await server.request(`/_health`);
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
      for (let i = 0; i < 5; i++) expect((await server.request(`/_health`)).status).toBe(200);
      expect(fileTree(parent)).toEqual(before);
    });
  });

  describe("GET /_metrics", () => {
    let server: Target;
    let text: string;
    let contentType: string;
    const SITE = "metrics.example";

    beforeAll(async () => {
      server = await targets.open();
      // A known sequence: 3 bulk POSTs of 2 events each (two months: two shards), 1 bad POST, 2 GETs.
      for (const list of [
        [EVENT, DECEMBER],
        [EVENT, EVENT],
        [DECEMBER, EVENT],
      ]) {
        const response = await server.request(`/${SITE}/bulk`, { body: { list } });
        expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: { inserted: 2 } });
      }
      const bad = await server.request(`/${SITE}/bulk`, { body: { list: [EVENT, { ...EVENT, time: "garbage" }] } });
      expect(bad.status).toBe(400);
      for (let i = 0; i < 2; i++) {
        const count = await server.request(`/${SITE}/count`);
        expect({ status: count.status, body: count.body }).toEqual({ status: 200, body: { total: 6, unique: 2 } });
      }
      // An answered request is counted a moment after its answer (the same turn over
      // HTTP, in process once the caller has it): scrape once all six are in.
      await waitFor("the six requests to be counted", async () => {
        ({ text, contentType } = await scrape(server));
        const counted = samples(text, "micro_analytics_http_requests_total").filter(({ labels }) => !labels.includes('route="/_metrics"'));
        return counted.reduce((sum, { value }) => sum + value, 0) === 6;
      });
    });

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
    let server: Target;
    beforeAll(async () => {
      server = await targets.shared({ args: ["--user", "u", "--password", "p", "--token", "t"] });
    });

    test("is 401 without credentials, and with wrong ones", async () => {
      for (const headers of [{}, { authorization: `Basic ${btoa("u:wrong")}` }, { authorization: "Bearer wrong" }] as Record<string, string>[]) {
        const response = await server.request(`/_metrics`, { headers });
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
      const health = await server.request(`/_health`);
      expect({ status: health.status, status_: health.body.status }).toEqual({ status: 200, status_: "ok" });
    });
  });
}
