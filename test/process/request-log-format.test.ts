/**
 * The request log, as the process writes it to stdout: one line per request
 * (text or JSON), never the query string, and none below --log-level. (The
 * fields of a request line are in request-log.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { cleanup } from "../helpers/cleanup";
import { request, startServer, type TestServer } from "../helpers/server";
import { TEST_MS, waitFor } from "../helpers/wait";

afterAll(cleanup);
setDefaultTimeout(TEST_MS);

const EVENT = { time: "2015-11-24T12:00:00Z", event: "download", path: "/README.md", ip: "10.0.0.1" };

/** `POST /site 200 1.2ms`, in a text line (before its bytes= and client= fields) or as a JSON line's msg. */
const REQUEST_LINE = /(GET|POST|PUT|PATCH|DELETE|OPTIONS) (\/\S*) (\d{3}) (\d+(?:\.\d+)?)ms(?: |$)/;

describe("the request log, as text (the default)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });

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
      const body =
        method !== "POST"
          ? undefined
          : status === 400
            ? "{broken"
            : path.endsWith("/bulk")
              ? JSON.stringify({ list: [EVENT, EVENT] })
              : JSON.stringify(EVENT);
      const response = await request(`${server.url}${path}`, { method, raw: body });
      expect({ method, path, status: response.status }).toEqual({ method, path, status });
    }
    const requestLines = (output: string) =>
      output
        .slice(start)
        .split("\n")
        .filter((line) => REQUEST_LINE.test(line));
    await waitFor("a line for each request", () => requestLines(server.output()).length >= asked.length);
    const output = server.output();
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
    const response = await request(`${server.url}/${site}/count?cache=secret&start=2015-01-01T00:00:00Z`);
    expect(response.status).toBe(200);
    await request(`${server.url}/${site}/count?start=secret`);
    const output = await server.waitForOutput(new RegExp(`GET /${site.replace(".", "\\.")}/count 400 `), { from: start });
    const logged = output.slice(start);
    expect(logged).toContain(`GET /${site}/count 200 `);
    expect(logged).toContain(`GET /${site}/count 400 `);
    expect(logged).not.toContain("secret");
    expect(logged).not.toContain("cache=");
    expect(logged).not.toContain("?");
  });
});

describe("the request log with --log-format json", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ args: ["--log-format", "json"] });
  });

  test("every line is a JSON object with time, level and msg; request lines keep method, path, status and duration", async () => {
    const site = "log-json.example";
    expect((await request(`${server.url}/${site}`, { body: EVENT })).status).toBe(200);
    expect((await request(`${server.url}/${site}`, { raw: "{" })).status).toBe(400);
    expect((await request(`${server.url}/${site}/count`)).status).toBe(200);
    const output = await server.waitForOutput(`GET /${site}/count 200`);
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

  test("has no request lines, but still the start line", async () => {
    const site = "log-warn.example";
    expect((await request(`${server.url}/${site}`, { body: EVENT })).status).toBe(200);
    expect((await request(`${server.url}/${site}`, { raw: "{" })).status).toBe(400);
    expect((await request(`${server.url}/${site}/count`)).status).toBe(200);
    expect((await request(`${server.url}/a/b/c`)).status).toBe(404);
    // A clean stop writes out every line logged before it: nothing is still to come.
    await server.stop();
    const output = server.output();
    expect(output).toContain("stopped in");
    expect(output).toContain("listening on");
    expect(output.split("\n").filter((line) => REQUEST_LINE.test(line))).toEqual([]);
    expect(output).not.toContain(site);
  });
});
