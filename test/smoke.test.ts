import { afterAll, beforeAll, expect, test } from "bun:test";
import { request, startServer, type TestServer } from "./helpers/server";

let server: TestServer;
beforeAll(async () => { server = await startServer(); });
afterAll(() => server.stop());

test("welcome", async () => {
  const { status, body } = await request(`${server.url}/`);
  expect(status).toBe(200);
  expect(body).toEqual({ message: "Welcome to micro-analytics!", version: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
});
