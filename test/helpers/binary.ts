import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const REPO = resolve(import.meta.dir, "../..");
const DIST = join(REPO, "dist", "micro-analytics");
/** What the binary is built from: a change to any of these makes dist/ stale. */
const INPUTS = ["src", "package.json", "bun.lock", "build.ts"];
/**
 * Held while one test process builds: under `bun test --parallel` the
 * others wait for it rather than build the same binary beside it. A lock
 * older than a build can take was left by a run that was killed.
 */
const LOCK = join(REPO, "dist", ".building");
const STALE_LOCK_MS = 5 * 60_000;

let binary: string | undefined;

/**
 * The compiled binary for this run: dist/micro-analytics, built now (as
 * `bun run build` does, about 5 s) when it is missing or older than any file
 * it is built from. CI builds before it tests, so there it is only checked.
 */
export function compiledBinary(): string {
  if (binary) return binary;
  while (!fresh()) {
    if (!takeLock()) {
      Bun.sleepSync(100);
      continue;
    }
    try {
      if (!upToDate()) build();
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
  }
  return (binary = DIST);
}

/** Up to date, and not being built by another test process. */
function fresh(): boolean {
  return !existsSync(LOCK) && upToDate();
}

function upToDate(): boolean {
  return existsSync(DIST) && statSync(DIST).mtimeMs > newestInput();
}

function takeLock(): boolean {
  mkdirSync(join(REPO, "dist"), { recursive: true });
  const held = statSync(LOCK, { throwIfNoEntry: false });
  if (held && Date.now() - held.mtimeMs > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true });
  try {
    mkdirSync(LOCK);
    return true;
  } catch {
    return false;
  }
}

function build(): void {
  const started = performance.now();
  const run = Bun.spawnSync([process.execPath, "build.ts"], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
  if (run.exitCode !== 0) throw new Error(`bun build.ts failed:\n${run.stdout.toString()}${run.stderr.toString()}`);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`dist/micro-analytics was missing or older than the sources: built it for this run in ${seconds} s (as \`bun run build\` does).`);
}

function newestInput(): number {
  let newest = 0;
  for (const input of INPUTS) {
    const path = join(REPO, input);
    if (!existsSync(path)) continue;
    newest = Math.max(newest, statSync(path).mtimeMs);
    if (!statSync(path).isDirectory()) continue;
    for (const entry of readdirSync(path, { recursive: true, withFileTypes: true })) {
      newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}
