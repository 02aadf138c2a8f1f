import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { type TestApp, variantsOfOneApp } from "../helpers/app";

/** The issue's bound on everything the page loads, compressed, the chart library included. */
const PAGE_BUDGET_BYTES = 150 * 1024;

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });

/** The files the shell loads, by the URLs in it. */
function assetUrls(html: string): string[] {
  return [...html.matchAll(/(?:href|src)="(\/_dashboard\/assets\/[^"]+)"/g)].map((m) => m[1]!);
}

const variant = variantsOfOneApp();

describe("with no credentials configured", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = variant([]);
    await app.request("/shell.example", { body: { event: "secret-event-name", path: "/secret-path", ip: "10.0.0.1" } });
  });
  afterAll(() => app.close());

  test("the page's shell is HTML that may load only the service's own files, and holds no data", async () => {
    const page = await app.fetch("/_dashboard/shell.example");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html;charset=utf-8");
    expect(page.headers.get("cache-control")).toBe("no-cache");
    const policy = page.headers.get("content-security-policy")!;
    for (const directive of ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "style-src 'self'", "frame-ancestors 'none'"]) {
      expect(policy).toContain(directive);
    }
    const html = await page.text();
    expect(html).toContain('data-auth=""');
    expect(html).not.toContain("secret-event-name");
    expect(html).not.toContain("secret-path");
    // One shell for every view: the script reads the URL.
    expect(await (await app.fetch("/_dashboard")).text()).toBe(html);
    expect(assetUrls(html)).toHaveLength(2);
  });

  test("the script and style are served for good under their hash, in brotli or gzip as the browser asks", async () => {
    const html = await (await app.fetch("/_dashboard")).text();
    for (const url of assetUrls(html)) {
      const plain = await app.fetch(url, { headers: { "accept-encoding": "identity" } });
      expect(plain.status).toBe(200);
      expect(plain.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(plain.headers.get("content-encoding")).toBeNull();
      expect(plain.headers.get("content-type")).toMatch(url.endsWith(".js") ? /^text\/javascript/ : /^text\/css/);
      const body = Buffer.from(await plain.arrayBuffer());
      expect(body.byteLength).toBeGreaterThan(1000);

      const br = await app.fetch(url, { headers: { "accept-encoding": "gzip, deflate, br" } });
      expect(br.headers.get("content-encoding")).toBe("br");
      expect(br.headers.get("vary")).toBe("Accept-Encoding");
      expect(brotliDecompressSync(Buffer.from(await br.arrayBuffer()))).toEqual(body);
      const gzip = await app.fetch(url, { headers: { "accept-encoding": "gzip" } });
      expect(gzip.headers.get("content-encoding")).toBe("gzip");
      expect(gunzipSync(Buffer.from(await gzip.arrayBuffer()))).toEqual(body);
    }
    const missing = await app.request("/_dashboard/assets/dashboard-0000.js");
    expect(missing).toMatchObject({ status: 404, body: { code: "NotFound" } });
  });

  test(`everything the page loads weighs at most ${PAGE_BUDGET_BYTES / 1024} KiB compressed`, async () => {
    const sizes: Record<string, { raw: number; gzip: number; br: number }> = {};
    const html = await (await app.fetch("/_dashboard")).text();
    for (const url of ["/_dashboard", ...assetUrls(html)]) {
      const size = async (encoding: string) => (await (await app.fetch(url, { headers: { "accept-encoding": encoding } })).arrayBuffer()).byteLength;
      sizes[url.replace(/^.*\//, "")] = { raw: await size("identity"), gzip: await size("gzip"), br: await size("br") };
    }
    const total = Object.values(sizes).reduce((sum, s) => ({ raw: sum.raw + s.raw, gzip: sum.gzip + s.gzip, br: sum.br + s.br }), { raw: 0, gzip: 0, br: 0 });
    console.log("dashboard page weight (bytes):", JSON.stringify({ ...sizes, total }));
    expect(total.gzip).toBeLessThanOrEqual(PAGE_BUDGET_BYTES);
    expect(total.br).toBeLessThanOrEqual(PAGE_BUDGET_BYTES);
  });

  test("a bad website name is a 400 that names it; other methods are 405; deeper paths do not exist", async () => {
    expect(await app.request("/_dashboard/-bad")).toMatchObject({ status: 400, body: { code: "InvalidWebsiteName" } });
    const post = await app.request("/_dashboard", { method: "POST", raw: "{}" });
    expect(post).toMatchObject({ status: 405, body: { code: "MethodNotAllowed" } });
    expect(post.headers.get("allow")).toBe("GET");
    const put = await app.request("/_dashboard", { method: "PUT", raw: "{}" });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET");
    const deleted = await app.request("/_dashboard/shell.example", { method: "DELETE" });
    expect(deleted.status).toBe(405);
    expect(deleted.headers.get("allow")).toBe("GET");
    expect((await app.request("/_dashboard/shell.example/more")).status).toBe(404);
    // The website itself is untouched by all of that.
    expect((await app.request("/shell.example/count")).body).toEqual({ total: 1, unique: 1 });
  });
});

describe("with basic auth", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = variant(["--user", "ann", "--password", "s3cret"]);
  });
  afterAll(() => app.close());

  test("the shell answers 401 with a Basic challenge until the browser sends the user and password, so the browser asks for them", async () => {
    for (const headers of [{}, basic("ann", "wrong"), basic("bob", "s3cret")]) {
      const refused = await app.fetch("/_dashboard/x.example", { headers });
      expect(refused.status).toBe(401);
      expect(refused.headers.get("www-authenticate")).toBe('Basic realm="micro-analytics"');
      // The body is the page, which says what it needs when the prompt is cancelled.
      const html = await refused.text();
      expect(html).toContain('data-auth="basic"');
      expect(html).toContain('data-signed-in="false"');
    }
    const page = await app.fetch("/_dashboard/x.example", { headers: basic("ann", "s3cret") });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('data-signed-in="true"');
  });

  test("the script and style need no credentials (they hold no data); the API still does", async () => {
    const html = await (await app.fetch("/_dashboard")).text();
    for (const url of assetUrls(html)) expect((await app.fetch(url)).status).toBe(200);
    expect((await app.request("/x.example/count")).status).toBe(401);
    expect((await app.request("/_websites")).status).toBe(401);
  });
});

describe("with a token only", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = variant(["--token", "t0ken"]);
  });
  afterAll(() => app.close());

  test("the shell is open (a navigation cannot carry a bearer token) and tells the page to ask for one", async () => {
    const page = await app.fetch("/_dashboard");
    expect(page.status).toBe(200);
    expect(page.headers.get("www-authenticate")).toBeNull();
    expect(await page.text()).toContain('data-auth="bearer"');
    expect((await app.request("/x.example/count")).status).toBe(401);
  });
});
