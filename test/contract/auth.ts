import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Answer } from "../helpers/server";
import type { Target, Targets } from "../helpers/target";

/** An event in a fixed month, so every test knows where it lands. */
const EVENT = { time: "2015-11-24T13:00:00Z", event: "download", path: "/README.md", ip: "127.0.0.1" };

const basic = (user: string, password: string) => ({ authorization: `Basic ${btoa(`${user}:${password}`)}` });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Every route behind auth, as [label, method, path, body]; `site` must exist for GET and DELETE to be 200. */
function protectedRoutes(site: string): [string, string, string, unknown][] {
  return [
    ["GET /:website", "GET", `/${site}`, undefined],
    ["GET /:website/count", "GET", `/${site}/count`, undefined],
    ["GET /:website/events", "GET", `/${site}/events`, undefined],
    ["POST /:website", "POST", `/${site}`, EVENT],
    ["POST /:website/bulk", "POST", `/${site}/bulk`, { list: [EVENT] }],
    ["POST /bulk", "POST", "/bulk", { list: [{ ...EVENT, website: site }] }],
    ["DELETE /:website", "DELETE", `/${site}`, undefined],
  ];
}

/** Expects the full set of routes to answer 200 with these headers, and checks what each one did. */
async function expectEveryRouteWorks(server: Target, site: string, headers: Record<string, string>) {
  const post = await server.request(`/${site}`, { body: EVENT, headers });
  expect(post.status).toBe(200);
  expect(post.body).toEqual({ inserted: 1 });

  const bulk = await server.request(`/${site}/bulk`, { body: { list: [EVENT, EVENT] }, headers });
  expect(bulk.status).toBe(200);
  expect(bulk.body).toEqual({ inserted: 2 });

  const multi = await server.request(`/bulk`, { body: { list: [{ ...EVENT, website: site }] }, headers });
  expect(multi.status).toBe(200);
  expect(multi.body).toEqual({ inserted: 1 });

  const list = await server.request(`/${site}`, { headers });
  expect(list.status).toBe(200);
  expect(list.body.list).toHaveLength(4);

  const count = await server.request(`/${site}/count`, { headers });
  expect(count.status).toBe(200);
  expect(count.body).toEqual({ total: 4, unique: 1 });

  const del = await server.request(`/${site}`, { method: "DELETE", headers });
  expect(del.status).toBe(200);
  expect(del.body).toEqual({ deleted: site });
  expect(existsSync(join(server.root, site))).toBe(false);
}

async function expectWelcomeIsOpen(server: Target) {
  const { status, body } = await server.request(`/`);
  expect(status).toBe(200);
  expect(body.message).toBe("Welcome to micro-analytics!");
}

function expectRefused(response: Answer, code: "InvalidAuthentication" | "InvalidCredentials") {
  expect(response.status).toBe(401);
  expect(response.body.code).toBe(code);
  expect(typeof response.body.message).toBe("string");
  expect(response.body.message.length).toBeGreaterThan(0);
  expect(response.headers.get("www-authenticate")).toBeTruthy();
}

/** Basic and bearer auth, alone and together, from flags and from the environment. */
export function authContract(targets: Targets) {
  describe("without auth configured", () => {
    let server: Target;
    beforeAll(async () => {
      server = await targets.shared();
    });

    test("GET / answers without credentials", () => expectWelcomeIsOpen(server));

    test("every route works without credentials", () => expectEveryRouteWorks(server, "open.example", {}));

    test("an Authorization header that nobody asked for is ignored", async () => {
      await expectEveryRouteWorks(server, "ignored.example", basic("someone", "whatever"));
    });
  });

  describe("basic auth (--user u --password p)", () => {
    let server: Target;
    const good = basic("u", "p");
    beforeAll(async () => {
      server = await targets.shared({ args: ["--user", "u", "--password", "p"] });
    });

    test("GET / answers without credentials", () => expectWelcomeIsOpen(server));

    test("every other route without credentials is 401 InvalidAuthentication with a Basic challenge", async () => {
      // The website exists, so a 401 cannot be mistaken for a 404.
      expect((await server.request(`/guarded.example`, { body: EVENT, headers: good })).status).toBe(200);
      for (const [label, method, path, body] of protectedRoutes("guarded.example")) {
        const response = await server.request(`${path}`, { method, body });
        expect({ label, status: response.status, code: response.body.code }).toEqual({
          label,
          status: 401,
          code: "InvalidAuthentication",
        });
        expect(response.headers.get("www-authenticate") ?? "").toStartWith("Basic");
      }
    });

    test("every route works with the right credentials", () => expectEveryRouteWorks(server, "basic.example", good));

    test("a wrong user and a wrong password get the same 401 InvalidCredentials", async () => {
      const wrongUser = await server.request(`/basic.example`, { headers: basic("x", "p") });
      const wrongPassword = await server.request(`/basic.example`, { headers: basic("u", "x") });
      expectRefused(wrongUser, "InvalidCredentials");
      expectRefused(wrongPassword, "InvalidCredentials");
      expect(wrongUser.body).toEqual(wrongPassword.body);
      expect(wrongUser.headers.get("www-authenticate")).toBe(wrongPassword.headers.get("www-authenticate"));
    });

    test("credentials that only differ in case, or add to the password, are refused", async () => {
      for (const headers of [basic("U", "p"), basic("u", "P"), basic("u", "p "), basic("u", "pp"), basic("u:p", "")]) {
        expectRefused(await server.request(`/basic.example`, { headers }), "InvalidCredentials");
      }
    });

    test("malformed Authorization headers are 401, never a crash", async () => {
      const malformed = [
        "Basic",
        "Basic ",
        "Basic !!!not-base64!!!",
        `Basic ${btoa("no-colon-here")}`,
        `Digest ${btoa("u:p")}`,
        `${btoa("u:p")}`,
        "Bearer p",
      ];
      for (const authorization of malformed) {
        const response = await server.request(`/basic.example`, { headers: { authorization } });
        expect({ authorization, status: response.status }).toEqual({ authorization, status: 401 });
        expect(["InvalidAuthentication", "InvalidCredentials"]).toContain(response.body.code);
        expect(response.headers.get("www-authenticate") ?? "").toStartWith("Basic");
      }
    });

    test("a refused POST writes nothing", async () => {
      for (const headers of [{}, basic("u", "wrong")]) {
        const single = await server.request(`/ghost.example`, { body: EVENT, headers });
        expect(single.status).toBe(401);
        const bulk = await server.request(`/bulk`, { body: { list: [{ ...EVENT, website: "ghost.example" }] }, headers });
        expect(bulk.status).toBe(401);
      }
      expect(existsSync(join(server.root, "ghost.example"))).toBe(false);
      const lookup = await server.request(`/ghost.example`, { headers: good });
      expect(lookup.status).toBe(404);
      expect(lookup.body.code).toBe("InvalidDatabaseName");
    });

    test("a refused DELETE deletes nothing", async () => {
      expect((await server.request(`/undeleted.example`, { body: EVENT, headers: good })).status).toBe(200);
      const refused = await server.request(`/undeleted.example`, { method: "DELETE", headers: basic("u", "wrong") });
      expect(refused.status).toBe(401);
      const count = await server.request(`/undeleted.example/count`, { headers: good });
      expect(count.status).toBe(200);
      expect(count.body.total).toBe(1);
    });
  });

  describe("bearer auth (--token t)", () => {
    let server: Target;
    beforeAll(async () => {
      server = await targets.shared({ args: ["--token", "t"] });
    });

    test("GET / answers without credentials", () => expectWelcomeIsOpen(server));

    test("every route works with Authorization: Bearer t", () => expectEveryRouteWorks(server, "token.example", bearer("t")));

    test("no credentials is 401 InvalidAuthentication with a Bearer challenge", async () => {
      const response = await server.request(`/token.example`, { body: EVENT });
      expectRefused(response, "InvalidAuthentication");
      expect(response.headers.get("www-authenticate")).toContain("Bearer");
      expect(existsSync(join(server.root, "token.example"))).toBe(false);
    });

    test("a wrong token is 401 InvalidCredentials", async () => {
      for (const token of ["x", "T", "tt", ""]) {
        const response = await server.request(`/token.example`, { body: EVENT, headers: bearer(token) });
        expectRefused(response, "InvalidCredentials");
        expect(response.headers.get("www-authenticate")).toContain("Bearer");
      }
      expect(existsSync(join(server.root, "token.example"))).toBe(false);
    });

    test("basic credentials are not accepted when only a token is configured", async () => {
      // An empty user and password must not match the unset basic-auth settings.
      for (const headers of [basic("", ""), basic("", "t"), basic("t", "t")]) {
        const response = await server.request(`/token.example`, { body: EVENT, headers });
        expect(response.status).toBe(401);
      }
      expect(existsSync(join(server.root, "token.example"))).toBe(false);
    });
  });

  describe("basic and bearer auth together (--user u --password p --token t)", () => {
    let server: Target;
    beforeAll(async () => {
      server = await targets.shared({ args: ["--user", "u", "--password", "p", "--token", "t"] });
    });

    test("basic credentials work", () => expectEveryRouteWorks(server, "both-basic.example", basic("u", "p")));

    test("the bearer token works", () => expectEveryRouteWorks(server, "both-token.example", bearer("t")));

    test("no credentials is 401 with a challenge naming both schemes", async () => {
      const response = await server.request(`/both.example`);
      expectRefused(response, "InvalidAuthentication");
      const challenge = response.headers.get("www-authenticate") ?? "";
      expect(challenge).toContain("Basic");
      expect(challenge).toContain("Bearer");
    });

    test("a wrong token or wrong password is 401 InvalidCredentials", async () => {
      expectRefused(await server.request(`/both.example`, { headers: bearer("p") }), "InvalidCredentials");
      expectRefused(await server.request(`/both.example`, { headers: basic("u", "t") }), "InvalidCredentials");
    });
  });

  describe("auth from the environment", () => {
    test("MA_USER and MA_PASSWORD turn basic auth on", async () => {
      const server = await targets.open({ env: { MA_USER: "envuser", MA_PASSWORD: "envpass" } });
      try {
        await expectWelcomeIsOpen(server);
        const refused = await server.request(`/env.example`, { body: EVENT });
        expectRefused(refused, "InvalidAuthentication");
        expect(refused.headers.get("www-authenticate") ?? "").toStartWith("Basic");
        expectRefused(await server.request(`/env.example`, { body: EVENT, headers: basic("envuser", "nope") }), "InvalidCredentials");
        await expectEveryRouteWorks(server, "env.example", basic("envuser", "envpass"));
      } finally {
        await server.close();
      }
    });

    test("MA_TOKEN turns bearer auth on", async () => {
      const server = await targets.open({ env: { MA_TOKEN: "envtoken" } });
      try {
        await expectWelcomeIsOpen(server);
        const refused = await server.request(`/env.example`, { body: EVENT });
        expectRefused(refused, "InvalidAuthentication");
        expect(refused.headers.get("www-authenticate")).toContain("Bearer");
        expectRefused(await server.request(`/env.example`, { body: EVENT, headers: bearer("nope") }), "InvalidCredentials");
        await expectEveryRouteWorks(server, "env.example", bearer("envtoken"));
      } finally {
        await server.close();
      }
    });
  });
}
