/**
 * Careless and hostile clients, aimed: malformed bodies, the limits each over
 * by one and exactly at the limit, unknown routes and methods, and auth under
 * hostility. Every refusal must be a 4xx with the contract's `{code, message}`
 * body, and must leave the disk as it was. (The seeded fuzz run, and what only
 * raw bytes on a socket can send, are in test/process/hostile-http.test.ts.)
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { EVENT, RawJson, toJson } from "../helpers/fuzz";
import { json, problemWithRefusal, rawAnswerOf, type RawAnswer } from "../helpers/raw-http";
import { fileTree, treeChanges } from "../helpers/shards";
import type { Target, Targets } from "../helpers/target";

/** A request as it goes out: method, path, headers and the body's bytes as they are. */
interface Sent {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

async function send(service: Target, { method, path, headers, body }: Sent): Promise<RawAnswer> {
  return rawAnswerOf(await service.fetch(path, { method, headers, body }));
}

/** The root's parent: a temporary directory of its own, holding the root. */
const parentOf = (service: Target) => join(service.root, "..");

function expectUnchangedSince(service: Target, before: string[]) {
  expect(treeChanges(before, fileTree(parentOf(service)))).toEqual({ added: [], removed: [] });
}

async function expectWelcoming(service: Target) {
  const welcome = await service.request("/");
  expect({ status: welcome.status, message: welcome.body?.message }).toEqual({ status: 200, message: "Welcome to micro-analytics!" });
}

export function refusalsContract(targets: Targets) {
  describe("targeted hostile bodies", () => {
    let server: Target;
    beforeAll(async () => {
      server = await targets.shared();
    });

    let sites = 0;
    const freshSite = () => `hostile-${++sites}.example`;

    /** Sends the request to a website that does not exist, and checks the refusal and that nothing was written. */
    async function expectRefused(req: (site: string) => Sent, status: number, code: string | string[]) {
      const site = freshSite();
      const before = fileTree(parentOf(server));
      const answer = await send(server, req(site));
      expect(problemWithRefusal(answer)).toBeUndefined();
      expect(answer.status).toBe(status);
      const codes = Array.isArray(code) ? code : [code];
      expect(codes).toContain(json(answer).code);
      expectUnchangedSince(server, before);
      const query = await server.request(`/${site}`);
      expect({ status: query.status, code: query.body.code }).toEqual({ status: 404, code: "InvalidDatabaseName" });
      return json(answer) as { code: string; message: string };
    }
    const post =
      (body: string | Uint8Array, path = (site: string) => `/${site}`) =>
      (site: string): Sent => ({
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
      await expectRefused(
        post(DEEP, (site) => `/${site}/bulk`),
        400,
        ["InvalidJSON", "InvalidEvent", "LimitExceeded"],
      );
      await expectRefused(
        post(DEEP, () => "/bulk"),
        400,
        ["InvalidJSON", "InvalidEvent", "LimitExceeded"],
      );
      await expectWelcoming(server);
    });

    test("JSON nested 100,000 deep where a field or an item goes is refused with a 400", async () => {
      await expectRefused(post(`{"event":${DEEP}}`), 400, ["InvalidJSON", "InvalidEvent", "LimitExceeded"]);
      await expectRefused(post(`{"headers":{"User-Agent":${DEEP}}}`), 400, ["InvalidJSON", "InvalidEvent", "LimitExceeded"]);
      await expectRefused(
        post(`{"list":[${DEEP}]}`, (site) => `/${site}/bulk`),
        400,
        ["InvalidJSON", "InvalidEvent", "LimitExceeded"],
      );
      await expectWelcoming(server);
    });

    test("an event carrying an unknown field nested 100,000 deep is refused (very deep nesting), not stored", async () => {
      const objects = '{"a":'.repeat(100_000) + "1" + "}".repeat(100_000);
      await expectRefused(post(`{"time":"2015-11-24T12:00:00Z","extra":${objects}}`), 400, ["InvalidJSON", "InvalidEvent", "LimitExceeded"]);
      await expectRefused(
        post(`{"list":[{"extra":${DEEP}}]}`, (site) => `/${site}/bulk`),
        400,
        ["InvalidJSON", "InvalidEvent", "LimitExceeded"],
      );
    });

    test.each(["GET", "POST", "DELETE"])(
      "%s of a website segment with malformed percent-encoding (and a trailing slash) is 400 InvalidWebsiteName",
      async (method) => {
        const before = fileTree(parentOf(server));
        for (const path of [
          "/%Z",
          "/a%Z",
          "/%C0%AF",
          "/%Z/",
          "/a%Z/",
          "/%ZZ/",
          "/%C0%AF/",
          "/%E0%A4%A/",
          "/%ZZ/count",
          "/%ZZ/count/",
          "/%C0%AF/bulk",
          "/%C0%AF/bulk/",
        ]) {
          // Other methods on /:website/count and /:website/bulk are rightly 405 before the website is looked at.
          if ((method !== "POST" && path.includes("/bulk")) || (method !== "GET" && path.includes("/count"))) continue;
          const answer = await send(server, {
            method,
            path,
            headers: { "Content-Type": "application/json" },
            body: method === "POST" ? JSON.stringify(EVENT) : undefined,
          });
          expect({ path, problem: problemWithRefusal(answer) }).toEqual({ path, problem: undefined });
          expect({ path, status: answer.status, code: json(answer).code }).toEqual({ path, status: 400, code: "InvalidWebsiteName" });
        }
        expectUnchangedSince(server, before);
      },
    );

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
        (site) =>
          post(
            toJson({
              list: [
                { ...EVENT, website: site },
                { ...EVENT, website },
              ],
            }),
            () => "/bulk",
          )(site),
        400,
        code,
      );
      expect(answer.message).toContain("list[1].website");
    });
  });

  describe("limits (--max-body-size 2048 --max-field-length 100 --max-headers 3 --max-bulk-items 5)", () => {
    let server: Target;
    beforeAll(async () => {
      server = await targets.shared({
        args: ["--max-body-size", "2048", "--max-field-length", "100", "--max-headers", "3", "--max-bulk-items", "5"],
      });
    });

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

    async function expectOver(path: (site: string) => string, body: string, req: Partial<Sent>, status: number, code: string, flag: string) {
      const site = freshSite();
      const before = fileTree(parentOf(server));
      const answer = await send(server, { method: "POST", path: path(site), headers, body, ...req });
      expect(problemWithRefusal(answer)).toBeUndefined();
      expect({ status: answer.status, code: json(answer).code }).toEqual({ status, code });
      expect(json(answer).message).toContain(flag);
      expectUnchangedSince(server, before);
      expect((await server.request(`/${site}`)).status).toBe(404);
    }

    async function expectAt(path: (site: string) => string, body: string, inserted: number, req: Partial<Sent> = {}) {
      const site = freshSite();
      const answer = await send(server, { method: "POST", path: path(site), headers, body, ...req });
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

    test("a body far over --max-body-size (100 KiB) is 413 with the JSON error body too", async () => {
      await expectOver(single, eventOfSize(100 * 1024), {}, 413, "PayloadTooLarge", "--max-body-size");
      await expectWelcoming(server);
    });

    test("a field one character over --max-field-length is 400 LimitExceeded naming the flag", async () => {
      await expectOver(single, JSON.stringify({ ...EVENT, event: "e".repeat(101) }), {}, 400, "LimitExceeded", "--max-field-length");
      await expectOver(bulk, JSON.stringify({ list: [EVENT, { ...EVENT, ip: "1".repeat(101) }] }), {}, 400, "LimitExceeded", "--max-field-length");
    });

    test("a header value one character over --max-field-length is 400 LimitExceeded naming the flag", async () => {
      await expectOver(
        single,
        JSON.stringify({ ...EVENT, headers: { "User-Agent": "u".repeat(101) } }),
        {},
        400,
        "LimitExceeded",
        "--max-field-length",
      );
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
      await expectOver(
        () => "/bulk",
        JSON.stringify({ list: Array.from({ length: 6 }, () => ({ ...EVENT, website: site })) }),
        {},
        400,
        "LimitExceeded",
        "--max-bulk-items",
      );
      expect((await server.request(`/${site}`)).status).toBe(404);
    });

    test("exactly --max-bulk-items items are stored, on both bulk routes", async () => {
      await expectAt(bulk, JSON.stringify({ list: Array.from({ length: 5 }, () => EVENT) }), 5);
      const site = freshSite();
      await expectAt(() => "/bulk", JSON.stringify({ list: Array.from({ length: 5 }, () => ({ ...EVENT, website: site })) }), 5);
    });
  });

  describe("unknown routes and wrong methods", () => {
    let server: Target;
    beforeAll(async () => {
      server = await targets.shared();
      expect((await server.request(`/site`, { body: EVENT })).status).toBe(200);
    });

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
      const answer = await send(server, {
        method,
        path,
        headers: { "Content-Type": "application/json" },
        body: method === "GET" ? undefined : JSON.stringify(EVENT),
      });
      expect(problemWithRefusal(answer)).toBeUndefined();
      expect({ status: answer.status, code: json(answer).code }).toEqual({ status: 404, code: "NotFound" });
      expectUnchangedSince(server, before);
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
      const answer = await send(server, { method, path, headers: { "Content-Type": "application/json" }, body: JSON.stringify(EVENT) });
      expect(problemWithRefusal(answer)).toBeUndefined();
      expect({ status: answer.status, code: json(answer).code, allow: answer.headers.allow }).toEqual({
        status: 405,
        code: "MethodNotAllowed",
        allow,
      });
      expectUnchangedSince(server, before);
      const count = await server.request(`/site/count`);
      expect(count.body).toEqual({ total: 1, unique: 1 });
    });
  });

  // ---------------------------------------------------------------------------
  // 3. Auth under hostility.
  // ---------------------------------------------------------------------------

  describe("auth under hostility (--user alice --password s3cret)", () => {
    let server: Target;
    const SITE = "hostile-guarded.example";
    const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;
    const good = { Authorization: basic("alice", "s3cret") };

    beforeAll(async () => {
      server = await targets.shared({ args: ["--user", "alice", "--password", "s3cret"] });
      const seeded = await server.request(`/${SITE}`, { body: EVENT, headers: { authorization: good.Authorization } });
      expect(seeded.status).toBe(200);
    });

    const ask = (method: string, path: string, authorization?: string, body?: string) =>
      send(server, {
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
      expect({ status: health.status, body: json(health) }).toEqual({
        status: 200,
        body: { status: "ok", writable: true, version: expect.any(String) },
      });
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
          if (
            problem ||
            answer.status !== 401 ||
            !["InvalidAuthentication", "InvalidCredentials"].includes(code) ||
            !answer.headers["www-authenticate"]
          ) {
            wrong.push(
              `${method} ${path} Authorization=${JSON.stringify(authorization?.slice(0, 60))}: ${answer.status} ${answer.text.slice(0, 120)}`,
            );
          }
        }
      }
      expect(wrong).toEqual([]);
      expectUnchangedSince(server, before);
      const count = await server.request(`/${SITE}/count`, { headers: { authorization: good.Authorization } });
      expect({ status: count.status, body: count.body }).toEqual({ status: 200, body: { total: 1, unique: 1 } });
      const metrics = await ask("GET", "/_metrics", good.Authorization);
      expect(metrics.status).toBe(200);
    });
  });
}
