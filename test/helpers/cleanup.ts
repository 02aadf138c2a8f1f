import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The one cleanup registry. Helpers that start something (a server, an app,
 * a temporary directory) register how to undo it here; every test file calls
 * `afterAll(cleanup)`, so nothing a file started outlives it, even when a
 * test fails half-way.
 */
const steps: (() => unknown)[] = [];
/** Steps for the end of the whole run (see preload.ts), for what files share. */
const endOfRun: (() => unknown)[] = [];

/** Runs `step` when the current file's tests are done. */
export function defer(step: () => unknown): void {
  steps.push(step);
}

/** Runs `step` once every file has run: for something the files share, such as one in-process service. */
export function deferToEndOfRun(step: () => unknown): void {
  endOfRun.push(step);
}

/**
 * A new temporary directory; the caller removes it. Under MA_TEST_TMPDIR when
 * that is set (`bun test` sets it to a memory file system, see preload.ts),
 * and then also removed when the run ends, should the caller forget: what a
 * test leaves there takes memory until the machine restarts.
 */
export function tempDir(prefix = "ma-test-"): string {
  const base = process.env.MA_TEST_TMPDIR;
  const dir = mkdtempSync(join(base ?? tmpdir(), prefix));
  if (base !== undefined) deferToEndOfRun(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A new temporary directory, removed by `cleanup`. */
export function scratch(prefix = "ma-test-"): string {
  const dir = tempDir(prefix);
  defer(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Undoes every registered step, newest first (servers stop before their directories go). */
export async function cleanup(): Promise<void> {
  await drain(steps);
}

/** The same for what the files share, once the run ends (preload.ts). */
export async function cleanupRun(): Promise<void> {
  await drain(steps);
  await drain(endOfRun);
}

async function drain(steps: (() => unknown)[]): Promise<void> {
  const failures: string[] = [];
  for (let step = steps.pop(); step; step = steps.pop()) {
    try {
      await step();
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  if (failures.length > 0) throw new Error(`cleanup failed:\n${failures.join("\n")}`);
}
