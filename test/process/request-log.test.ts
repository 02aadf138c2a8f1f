/**
 * Request lines carry their facts as fields: method, path, status, duration,
 * the answer's bytes and the client's address, in JSON as keys of their own
 * (not only inside msg) and in text as key=value after the message.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { startServer, type TestServer } from "../helpers/server";
import { TEST_MS, waitFor } from "../helpers/wait";

setDefaultTimeout(TEST_MS);

const EVENT = { time: "2015-11-24T13:00:00Z", event: "été", path: "/", ip: "10.0.0.1" };

/** Sends a request and answers its status and the bytes of the body received. */
async function ask(server: TestServer, method: string, path: string, body?: unknown): Promise<{ status: number; bytes: number }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
  return { status: response.status, bytes: (await response.arrayBuffer()).byteLength };
}

describe("--log-format json", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ args: ["--log-format", "json"] });
  });
  afterAll(() => server.stop());

  test("every request line has method, path, status, durationMs, bytes and client as fields", async () => {
    const site = "fields.example";
    const asked: [string, string, unknown][] = [
      ["POST", `/${site}`, EVENT],
      ["POST", `/${site}`, "{broken"],
      ["GET", `/${site}/count`, undefined],
      ["GET", `/${site}/events?unique=true`, undefined],
      ["GET", `/${site}`, undefined],
      ["GET", `/${site}?limit=1&format=csv`, undefined],
      ["GET", "/unknown-site.example/count", undefined],
      ["PUT", `/${site}`, undefined],
      ["GET", "/", undefined],
    ];
    const expected = [];
    for (const [method, path, body] of asked) {
      const { status, bytes } = await ask(server, method, path, body);
      expected.push({ method, path: path.split("?")[0], status, bytes, client: "127.0.0.1" });
    }
    const requestLines = () =>
      server
        .output()
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line))
        .filter((entry) => typeof entry.method === "string");
    const lines = await waitFor("every request line", () => (requestLines().length >= asked.length ? requestLines() : undefined));
    expect(lines.map(({ method, path, status, bytes, client }) => ({ method, path, status, bytes, client }))).toEqual(expected);
    for (const line of lines) {
      expect(line.level).toBe("info");
      expect(typeof line.durationMs).toBe("number");
      expect(line.durationMs).toBeGreaterThanOrEqual(0);
      expect(line.msg).toBe(`${line.method} ${line.path} ${line.status} ${line.durationMs.toFixed(1)}ms`);
    }
  });
});

describe("as text", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  test("bytes= and client= follow the message", async () => {
    const { bytes } = await ask(server, "POST", "/text-fields.example", EVENT);
    const line = await waitFor("the request line", () => server.output().split("\n").find((l) => l.includes("POST /text-fields.example 200 ")));
    expect(line).toMatch(new RegExp(`^\\S+ INFO POST /text-fields\\.example 200 \\d+\\.\\dms bytes=${bytes} client=127\\.0\\.0\\.1$`));
  });
});
