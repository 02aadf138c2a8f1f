import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { deferToEndOfRun } from "./cleanup";

const REPO = resolve(import.meta.dir, "../..");
const DIST = join(REPO, "dist", "micro-analytics");
/** What the binary is built from: a change to any of these makes dist/ stale. */
const INPUTS = ["src", "package.json", "bun.lock", "build.ts"];

let binary: string | undefined;

/**
 * The compiled binary for this run: dist/micro-analytics when it is newer than
 * every file it is built from (CI builds before it tests), else one built now
 * into a temporary directory, once per run (about 4 s), and removed when the
 * run ends.
 */
export function compiledBinary(): string {
  if (binary) return binary;
  if (existsSync(DIST) && statSync(DIST).mtimeMs > newestInput()) return (binary = DIST);

  const dir = mkdtempSync(join(tmpdir(), "ma-binary-"));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  // Under `bun test` at the end of the run (the test runner emits no "exit"), elsewhere at exit.
  deferToEndOfRun(remove);
  process.on("exit", remove);
  const outfile = join(dir, "micro-analytics");
  const started = performance.now();
  const build = Bun.spawnSync([process.execPath, "build.ts", "--outfile", outfile], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
  if (build.exitCode !== 0) {
    remove();
    throw new Error(`bun build.ts failed:\n${build.stdout.toString()}${build.stderr.toString()}`);
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `dist/micro-analytics is missing or older than the sources: built one for this run in ${seconds} s (\`bun run build\` first to skip this).`,
  );
  return (binary = outfile);
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
