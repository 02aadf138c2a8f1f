/**
 * GET /_metrics beyond the service's own counters: the standard process_*
 * metrics, a build_info gauge, the latency histogram by route and method with
 * buckets that reach minutes, and the whole exposition as promtool reads it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { version } from "../../package.json";
import { openApp, type TestApp } from "../helpers/app";
import { waitFor } from "../helpers/wait";

const EVENT = { time: "2015-11-24T13:00:00Z", event: "view", path: "/", ip: "10.0.0.1" };

let app: TestApp;
let text: string;
beforeAll(async () => {
  app = await openApp();
  expect((await app.request("/metrics.example", { body: EVENT })).status).toBe(200);
  expect((await app.request("/metrics.example")).status).toBe(200);
  expect((await app.request("/metrics.example/count")).status).toBe(200);
  // Requests are counted one turn after their answer: scrape until the last one shows.
  text = await waitFor("the /count request in the metrics", async () => {
    const scraped = await (await app.fetch("/_metrics")).text();
    return scraped.includes('route="/:website/count"') ? scraped : undefined;
  });
});
afterAll(() => app.close());

/** The value of the sample with exactly this series name and labels. */
function sample(series: string): number | undefined {
  for (const line of text.split("\n")) if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  return undefined;
}

describe("process_* metrics", () => {
  test("are there, with their types, under the standard names", () => {
    const expected: [string, string][] = [
      ["process_cpu_seconds_total", "counter"],
      ["process_cpu_user_seconds_total", "counter"],
      ["process_cpu_system_seconds_total", "counter"],
      ["process_start_time_seconds", "gauge"],
      ["process_resident_memory_bytes", "gauge"],
      ["process_virtual_memory_bytes", "gauge"],
      ["process_open_fds", "gauge"],
      ["process_max_fds", "gauge"],
    ];
    for (const [name, type] of expected) {
      expect(text).toMatch(new RegExp(`^# HELP ${name} \\S`, "m"));
      expect(text).toMatch(new RegExp(`^# TYPE ${name} ${type}$`, "m"));
    }
  });

  test("hold readings of this process", async () => {
    const now = Date.now() / 1000;
    const started = sample("process_start_time_seconds")!;
    expect(started).toBeLessThanOrEqual(now + 1);
    expect(started).toBeGreaterThanOrEqual(now - process.uptime() - 5);
    expect(sample("process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(sample("process_cpu_seconds_total")).toBeCloseTo(sample("process_cpu_user_seconds_total")! + sample("process_cpu_system_seconds_total")!, 5);
    expect(sample("process_resident_memory_bytes")).toBeGreaterThan(10 * 1024 * 1024);
    expect(sample("process_virtual_memory_bytes")).toBeGreaterThanOrEqual(sample("process_resident_memory_bytes")!);
    const open = sample("process_open_fds")!;
    expect(open).toBeGreaterThan(2);
    expect(open).toBeLessThanOrEqual(sample("process_max_fds")!);
    const limits = await Bun.file("/proc/self/limits").text();
    expect(sample("process_max_fds")).toBe(Number(/^Max open files\s+(\d+)/m.exec(limits)![1]));
  });
});

test("micro_analytics_build_info is 1, with the version and Bun's version as labels", () => {
  expect(text).toMatch(/^# TYPE micro_analytics_build_info gauge$/m);
  expect(sample(`micro_analytics_build_info{version="${version}",bun_version="${Bun.version}"}`)).toBe(1);
});

describe("the latency histogram", () => {
  test("is labelled by route and method: GET and POST of one route are two series", () => {
    const post = sample('micro_analytics_http_request_duration_seconds_count{route="/:website",method="POST"}');
    const get = sample('micro_analytics_http_request_duration_seconds_count{route="/:website",method="GET"}');
    expect({ post, get }).toEqual({ post: 1, get: 1 });
    expect(sample('micro_analytics_http_request_duration_seconds_count{route="/:website/count",method="GET"}')).toBe(1);
  });

  test("has buckets up to ten minutes, for a first query that builds summaries", () => {
    const bounds = [...text.matchAll(/^micro_analytics_http_request_duration_seconds_bucket\{route="\/:website\/count",method="GET",le="([^"]+)"\}/gm)].map((m) => m[1]!);
    expect(bounds.at(-1)).toBe("+Inf");
    const numeric = bounds.slice(0, -1).map(Number);
    expect(numeric[0]).toBeLessThanOrEqual(0.001);
    expect(numeric).toContain(60);
    expect(Math.max(...numeric)).toBeGreaterThanOrEqual(600);
    expect(numeric).toEqual([...numeric].sort((a, b) => a - b));
  });
});

test("promtool check metrics finds nothing wrong with the exposition", async () => {
  const promtool = Bun.which("promtool");
  if (!promtool) {
    console.warn("skipped: promtool is not installed (Debian: apt-get install prometheus)");
    return;
  }
  const proc = Bun.spawn([promtool, "check", "metrics"], { stdin: new TextEncoder().encode(text), stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect({ exitCode, said: (stdout + stderr).trim() }).toEqual({ exitCode: 0, said: "" });
});
