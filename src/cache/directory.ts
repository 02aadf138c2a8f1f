import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { version } from "../../package.json";

/**
 * The cache lives under `<dir>/<major version>`: a new major version may
 * change what is cached, and never reads an older one's files.
 */
export function cacheDirectory(dir: string): string {
  return join(dir, version.split(".")[0]!);
}

/**
 * Why the cache could not be kept in `dir` (a file where a directory should
 * be, no permission), or undefined when a file can be written there. The
 * cache itself shrugs such faults off, so that queries keep working, only
 * uncached; this says so once, at start.
 */
export function cacheDirectoryProblem(dir: string): string | undefined {
  const probe = join(dir, `.probe-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(probe, "");
    rmSync(probe, { force: true });
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOTDIR" || (error as NodeJS.ErrnoException).code === "EEXIST"
      ? "a file is in the way of the directory"
      : (error as Error).message;
  }
}
