import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { request, startServer, tempDir, type TestServer } from "../helpers/server";
import { waitFor } from "../helpers/wait";

/** 25 events over two months; several share a second, so order within a second is by arrival. */
const EVENTS = Array.from({ length: 25 }, (_, i) => ({
  time: i < 12 ? `2015-10-31T23:59:${String(40 + Math.floor(i / 3)).padStart(2, "0")}Z` : `2015-11-01T00:00:${String(Math.floor(i / 3)).padStart(2, "0")}Z`,
  event: `e${i}`,
  path: `/page/${i}`,
  ip: `10.0.0.${i}`,
  platform: "Linux",
  refererDomain: "example.org",
  countryCode: "fr",
}));

/** What GET answers for an event: the same fields, in the contract's order. */
const answered = (event: (typeof EVENTS)[number]) => ({
  time: event.time,
  event: event.event,
  path: event.path,
  ip: event.ip,
  platform: event.platform,
  refererDomain: event.refererDomain,
  countryCode: event.countryCode,
});

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
  const tricky = { ...EVENTS[0]!, time: "2015-09-01T00:00:00Z", path: '/a,"b"\nc', event: "é — ünïcode" };
  expect((await request(`${server.url}/site.example/bulk`, { body: { list: EVENTS } })).status).toBe(200);
  expect((await request(`${server.url}/tricky.example`, { body: tricky })).status).toBe(200);
});
afterAll(() => server.stop());

async function getText(path: string): Promise<{ status: number; type: string | null; next: string | null; text: string }> {
  const response = await fetch(`${server.url}${path}`);
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    next: response.headers.get("x-next-cursor"),
    text: await response.text(),
  };
}

describe("GET /:website formats", () => {
  test("json is the default and lists every event in order", async () => {
    const { status, type, text } = await getText("/site.example");
    expect(status).toBe(200);
    expect(type).toStartWith("application/json");
    expect(JSON.parse(text)).toEqual({ list: EVENTS.map(answered) });
  });

  test("ndjson has one JSON object a line, the same events", async () => {
    const { status, type, text } = await getText("/site.example?format=ndjson");
    expect(status).toBe(200);
    expect(type).toStartWith("application/x-ndjson");
    const lines = text.trimEnd().split("\n");
    expect(lines.map((line) => JSON.parse(line))).toEqual(EVENTS.map(answered));
  });

  test("csv has a header and one quoted line an event", async () => {
    const { status, type, text } = await getText("/site.example?format=csv");
    expect(status).toBe(200);
    expect(type).toStartWith("text/csv");
    const lines = text.split("\r\n");
    expect(lines[0]).toBe("time,event,path,ip,platform,refererDomain,countryCode");
    expect(lines[1]).toBe('2015-10-31T23:59:40Z,"e0","/page/0","10.0.0.0","Linux","example.org","fr"');
    expect(lines).toHaveLength(EVENTS.length + 2);
    expect(lines.at(-1)).toBe("");
  });

  test("csv quotes commas, quotes and line breaks; json keeps unicode", async () => {
    const csv = await getText("/tricky.example?format=csv");
    expect(csv.text).toBe(
      'time,event,path,ip,platform,refererDomain,countryCode\r\n2015-09-01T00:00:00Z,"é — ünïcode","/a,""b""\nc","10.0.0.0","Linux","example.org","fr"\r\n',
    );
    const json = await getText("/tricky.example");
    expect(JSON.parse(json.text).list[0]).toMatchObject({ event: "é — ünïcode", path: '/a,"b"\nc' });
  });

  test("the range applies to every format", async () => {
    const range = "start=2015-11-01T00:00:05Z&end=2015-11-01T00:00:06Z";
    const expected = EVENTS.filter((e) => e.time >= "2015-11-01T00:00:05Z" && e.time <= "2015-11-01T00:00:06Z").map(answered);
    expect(expected.length).toBeGreaterThan(0);
    expect(JSON.parse((await getText(`/site.example?${range}`)).text).list).toEqual(expected);
    const ndjson = (await getText(`/site.example?${range}&format=ndjson`)).text.trimEnd().split("\n");
    expect(ndjson.map((line) => JSON.parse(line))).toEqual(expected);
  });

  test("a known website with nothing in range answers an empty list in every format", async () => {
    const range = "start=2001-01-01T00:00:00Z&end=2001-01-02T00:00:00Z";
    expect(JSON.parse((await getText(`/site.example?${range}`)).text)).toEqual({ list: [] });
    expect((await getText(`/site.example?${range}&format=ndjson`)).text).toBe("");
    expect((await getText(`/site.example?${range}&format=csv`)).text).toBe("time,event,path,ip,platform,refererDomain,countryCode\r\n");
  });
});

describe("GET /:website paging", () => {
  test("pages of 10 walk every event once, in order, across the month boundary", async () => {
    const seen: unknown[] = [];
    let cursor: string | undefined;
    const pages: number[] = [];
    do {
      const { status, body, headers } = await request(`${server.url}/site.example?limit=10${cursor ? `&cursor=${cursor}` : ""}`);
      expect(status).toBe(200);
      pages.push(body.list.length);
      seen.push(...body.list);
      expect(headers.get("x-next-cursor") ?? undefined).toBe(body.next);
      cursor = body.next;
    } while (cursor);
    expect(pages).toEqual([10, 10, 5]);
    expect(seen).toEqual(EVENTS.map(answered));
  });

  test("a page that ends exactly at the last event has no cursor", async () => {
    const { body } = await request(`${server.url}/site.example?limit=25`);
    expect(body.list).toHaveLength(25);
    expect(body.next).toBeUndefined();
    const first = await request(`${server.url}/site.example?limit=24`);
    expect(first.body.next).toBeString();
    const last = await request(`${server.url}/site.example?limit=24&cursor=${first.body.next}`);
    expect(last.body).toEqual({ list: [answered(EVENTS[24]!)] });
  });

  test("ndjson and csv pages carry the cursor in X-Next-Cursor", async () => {
    const ndjson = await getText("/site.example?format=ndjson&limit=20");
    expect(ndjson.text.trimEnd().split("\n")).toHaveLength(20);
    expect(ndjson.next).toBeString();
    const rest = await getText(`/site.example?format=ndjson&limit=20&cursor=${ndjson.next}`);
    expect(rest.text.trimEnd().split("\n").map((line) => JSON.parse(line))).toEqual(EVENTS.slice(20).map(answered));
    expect(rest.next).toBeNull();
    const csv = await getText("/site.example?format=csv&limit=3");
    expect(csv.text.split("\r\n")).toHaveLength(5);
    expect(csv.next).toBeString();
  });

  test("a page respects start and end", async () => {
    const range = "start=2015-11-01T00:00:00Z";
    const { body } = await request(`${server.url}/site.example?${range}&limit=10`);
    const next = await request(`${server.url}/site.example?${range}&limit=10&cursor=${body.next}`);
    expect([...body.list, ...next.body.list]).toEqual(EVENTS.slice(12).map(answered));
    expect(next.body.next).toBeUndefined();
  });

  test("bad format, limit or cursor is a 400 InvalidParameter", async () => {
    for (const query of ["format=xml", "limit=0", "limit=-1", "limit=abc", "limit=100001", "limit=10&cursor=garbage", "cursor=MjAxNS0xMC4xLjE"]) {
      const { status, body } = await request(`${server.url}/site.example?${query}`);
      expect({ query, status, code: body.code }).toEqual({ query, status: 400, code: "InvalidParameter" });
    }
  });
});

describe("GET /:website streaming", () => {
  test("a large answer streams with memory that does not grow with it", async () => {
    const root = join(tempDir(), "dbs");
    const writer = await startServer({ root, args: ["--log-level", "warn"] });
    const batch = 5_000;
    const batches = 60;
    for (let b = 0; b < batches; b++) {
      const list = Array.from({ length: batch }, (_, i) => ({
        time: 1_446_000_000 + b * batch + i,
        event: "pageview",
        path: `/a/fairly/long/path/to/make/the/answer/larger/${b}/${i}`,
        ip: `10.1.${b}.${i % 250}`,
      }));
      expect((await request(`${writer.url}/big.example/bulk`, { body: { list } })).status).toBe(200);
    }
    await writer.stop();

    // A fresh process, so its memory is the export's and not the ingest's, once
    // the summaries it builds after start (in the same process) are built.
    const reader = await startServer({ root });
    try {
      await waitFor("the summaries line", () => reader.output().includes("summaries up to date"), 60_000);
      const residentMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${reader.pid}/status`, "utf8"))![1]) / 1024;
      await request(`${reader.url}/big.example?limit=1`);
      const before = residentMb();
      const response = await fetch(`${reader.url}/big.example?format=ndjson`);
      const body = response.body!.getReader();
      let bytes = 0;
      let lines = 0;
      const take = (chunk: Uint8Array) => {
        bytes += chunk.byteLength;
        for (const byte of chunk) if (byte === 10) lines++;
      };
      take((await body.read()).value!);
      // The client stops reading: a server that did not wait for it, or that
      // built the answer first, would hold the rest of it in memory by now.
      await Bun.sleep(1500);
      const whilePaused = residentMb() - before;
      for (let next = await body.read(); !next.done; next = await body.read()) take(next.value);

      expect(lines).toBe(batch * batches);
      // The answer is about 45 MB.
      expect(bytes).toBeGreaterThan(40 * 1024 * 1024);
      expect(whilePaused).toBeLessThan(16);
    } finally {
      await reader.stop();
    }
  }, 60_000);
});
