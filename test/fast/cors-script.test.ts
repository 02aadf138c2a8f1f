import { afterEach, expect, test } from "bun:test";
import { type TestApp, variantsOfOneApp } from "../helpers/app";

const variant = variantsOfOneApp();

let app: TestApp | undefined;
afterEach(() => app?.close());

const preflight = (path: string, origin: string) =>
  app!.fetch(path, { method: "OPTIONS", headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization" } });

test("preflights of the write routes are answered without credentials, and POST answers name the origin", async () => {
  app = variant(["--token", "secret", "--ingest-token", "writer"]);
  for (const path of ["/site", "/site/bulk", "/bulk"]) {
    const answer = await preflight(path, "https://www.example.com");
    expect(answer.status).toBe(204);
    expect(answer.headers.get("access-control-allow-origin")).toBe("*");
    expect(answer.headers.get("access-control-allow-methods")).toBe("POST");
    expect(answer.headers.get("access-control-allow-headers")).toBe("Content-Type, Authorization");
  }
  // An OPTIONS that is no preflight is refused as any other method the path does not take.
  const bare = await app.fetch("/site", { method: "OPTIONS" });
  expect(bare.status).toBe(405);
  expect(bare.headers.get("allow")).toBe("GET, POST, DELETE");
  const posted = await app.fetch("/site", { method: "POST", body: "{}", headers: { Origin: "https://www.example.com", Authorization: "Bearer writer" } });
  expect(posted.status).toBe(200);
  expect(posted.headers.get("access-control-allow-origin")).toBe("*");
  // Even a refusal carries it, so the page's script can read why.
  const refused = await app.fetch("/site", { method: "POST", body: "{}", headers: { Origin: "https://www.example.com" } });
  expect(refused.status).toBe(401);
  expect(refused.headers.get("access-control-allow-origin")).toBe("*");
  // Reads never do: no other origin's page may read the data.
  const read = await app.fetch("/site/count", { headers: { Origin: "https://www.example.com", Authorization: "Bearer secret" } });
  expect(read.status).toBe(200);
  expect(read.headers.get("access-control-allow-origin")).toBeNull();
});

test("--cors-origins with a list answers only those origins; none turns CORS off", async () => {
  app = variant(["--cors-origins", "https://a.example, http://localhost:8080"]);
  expect((await preflight("/site", "https://a.example")).headers.get("access-control-allow-origin")).toBe("https://a.example");
  expect((await preflight("/site", "http://localhost:8080")).headers.get("vary")).toBe("Origin");
  expect((await preflight("/site", "https://evil.example")).headers.get("access-control-allow-origin")).toBeNull();
  // The service's own paths are no website to post to.
  expect((await preflight("/_health", "https://a.example")).status).toBe(405);
  app.close();

  app = variant(["--cors-origins", "none"]);
  expect((await preflight("/site", "https://a.example")).status).toBe(405);
  const posted = await app.fetch("/site", { method: "POST", body: "{}", headers: { Origin: "https://a.example" } });
  expect(posted.headers.get("access-control-allow-origin")).toBeNull();
});

test("/_script.js is served to anyone, small, cacheable and without cookies", async () => {
  app = variant(["--token", "secret"]);
  const answer = await app.fetch("/_script.js");
  const text = await answer.text();
  expect(answer.status).toBe(200);
  expect(answer.headers.get("content-type")).toBe("text/javascript;charset=utf-8");
  expect(answer.headers.get("cache-control")).toBe("public, max-age=86400");
  expect(answer.headers.get("set-cookie")).toBeNull();
  expect(Buffer.byteLength(text)).toBeLessThan(512);
  expect(text).not.toContain("cookie");
  expect(text).not.toContain("localStorage");
  expect(() => new Function(text)).not.toThrow();
  app.close();
  app = variant([]);
  expect((await app.fetch("/_script.js", { method: "POST" })).status).toBe(405);
});

test("--cors-origins refuses what is not an origin", async () => {
  const { loadConfig } = await import("../../src/config/config");
  expect(() => loadConfig(["--cors-origins", "https://a.example/path"], {})).toThrow('--cors-origins (or MA_CORS_ORIGINS): "https://a.example/path" is not an origin');
  expect(() => loadConfig(["--cors-origins", "a.example"], {})).toThrow("is not an origin");
});
