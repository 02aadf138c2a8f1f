/**
 * The result cache is bounded in bytes on disk, not in characters: answers
 * in non-ASCII text (three bytes a character in UTF-8) once took three times
 * the budget.
 */
import { afterAll, expect, test } from "bun:test";
import { readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { ResultCache } from "../../src/cache/result-cache";
import { tempDir } from "../helpers/server";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function bytesOnDisk(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

test("what the cache counts is what its files take on disk, for text of any script", () => {
  const dir = tempDir("ma-cache-");
  dirs.push(dir);
  const cache = new ResultCache(dir, 1024 * 1024);
  const bodies = ["ascii only", "été à Zürich", "日本語の答え".repeat(50), "😀".repeat(200)];
  bodies.forEach((body, i) => cache.put("site.example", `key-${i}`, { "2015-11": "v1" }, JSON.stringify({ list: [body] })));
  expect(cache.sizeBytes).toBe(bytesOnDisk(dir));
  // A reopened cache counts the same.
  expect(new ResultCache(dir, 1024 * 1024).sizeBytes).toBe(bytesOnDisk(dir));
});

test("non-ASCII answers stay within the budget", () => {
  const dir = tempDir("ma-cache-");
  dirs.push(dir);
  const budget = 64 * 1024;
  const cache = new ResultCache(dir, budget);
  // Each answer is about 3 KiB of characters and 9 KiB of UTF-8.
  const body = JSON.stringify({ list: [{ id: "日本".repeat(1500), total: 1 }] });
  for (let i = 0; i < 40; i++) {
    cache.put("site.example", `key-${i}`, { "2015-11": "v1" }, body);
    expect({ after: i, onDisk: bytesOnDisk(dir) <= budget }).toEqual({ after: i, onDisk: true });
  }
  expect(cache.sizeBytes).toBe(bytesOnDisk(dir));
  // The most recent answer is kept.
  expect(cache.get("site.example", "key-39", { "2015-11": "v1" })).toBe(body);
});
