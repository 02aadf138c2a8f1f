import { afterAll, expect, spyOn, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { backup } from "../../src/commands/backup";
import { check } from "../../src/commands/check";
import { loadConfig } from "../../src/config/config";
import { createLogger } from "../../src/observe/log";
import { openServices } from "../../src/services";
import { tempDir } from "../helpers/server";

const dir = tempDir("ma-startup-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Opens the services as `serve` would with these flags, and answers why it refused. */
async function refusal(args: string[]): Promise<string> {
  const command = loadConfig(["--cache-directory", join(dir, "cache"), "--log-level", "error", ...args], {});
  if (command.name !== "serve") throw new Error("expected serve");
  try {
    const services = await openServices(command.config, createLogger("error", "text"));
    await services.close();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`openServices accepted ${args.join(" ")}`);
}

test("a --root that is a file says it is not a directory", async () => {
  const file = join(dir, "root-file");
  writeFileSync(file, "not a directory");
  const message = await refusal(["--root", file]);
  expect(message).toContain("--root");
  expect(message).toContain(file);
  expect(message).toContain("not a directory");
});

test("an empty .mmdb for --geoip says it is empty and what to do", async () => {
  const file = join(dir, "empty.mmdb");
  writeFileSync(file, "");
  const message = await refusal(["--root", join(dir, "dbs"), "--geoip", file]);
  expect(message).toContain("--geoip");
  expect(message).toContain("empty (0 bytes)");
  expect(message).toContain("leave --geoip unset");
});

test("a file that is not an MMDB database for --geoip says so", async () => {
  const file = join(dir, "GeoLite2-Country.tar.gz");
  writeFileSync(file, Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]));
  const message = await refusal(["--root", join(dir, "dbs"), "--geoip", file]);
  expect(message).toContain("--geoip");
  expect(message).toContain("not an .mmdb database");
});

test("check and backup of a --root that is a file say it is not a directory", () => {
  const file = join(dir, "root-file-2");
  writeFileSync(file, "not a directory");
  const errors = spyOn(console, "error").mockImplementation(() => {});
  try {
    expect(check(file)).toBe(2);
    expect(backup(file, join(dir, "copy"))).toBe(2);
    expect(errors.mock.calls.map(([line]) => String(line))).toEqual([
      `micro-analytics check: ${file} is not a directory; give --root the database directory.`,
      `micro-analytics backup: ${file} is not a directory; give --root the database directory.`,
    ]);
  } finally {
    errors.mockRestore();
  }
});
