/**
 * `bun install` on a fresh clone must leave bun.lock as it is: it rewrites the
 * lock whenever the workspace's recorded specifiers differ from package.json's
 * (and `--frozen-lockfile`, as CI runs it, then fails).
 */
import { expect, test } from "bun:test";
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");

test("bun.lock records exactly package.json's dependency specifiers", async () => {
  const manifest = await Bun.file(resolve(ROOT, "package.json")).json();
  const lock = Bun.JSONC.parse(await Bun.file(resolve(ROOT, "bun.lock")).text()) as {
    workspaces: Record<string, { dependencies?: Record<string, string>; devDependencies?: Record<string, string> }>;
    packages: Record<string, unknown>;
  };
  const workspace = lock.workspaces[""]!;
  expect(workspace.dependencies ?? {}).toEqual(manifest.dependencies ?? {});
  expect(workspace.devDependencies ?? {}).toEqual(manifest.devDependencies ?? {});
  // Every direct dependency is resolved in the lock.
  for (const name of [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.devDependencies ?? {})]) {
    expect({ name, locked: name in lock.packages }).toEqual({ name, locked: true });
  }
});
