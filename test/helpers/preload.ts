/**
 * Loaded before every test file (bunfig.toml).
 * - Servers that tests start as processes are the compiled binary, the thing
 *   that ships, unless MA_TEST_SERVER says otherwise ("sources", or the path
 *   of an executable).
 * - Temporary roots live on a memory file system where there is one: creating
 *   a shard costs some 2 ms there against 15 ms on this machine's disk, and
 *   what the tests check (a kill -9, a full disk, a damaged file) does not
 *   depend on the disk. MA_TEST_TMPDIR picks another directory.
 * - Once the run ends, what the files shared is closed (the in-process
 *   services of `inProcess.shared()`), and whatever a file left running is
 *   stopped, should the file not have called `afterAll(cleanup)` itself.
 */
import { afterAll } from "bun:test";
import { accessSync, constants } from "node:fs";
import { cleanupRun } from "./cleanup";

process.env.MA_TEST_SERVER ??= "binary";
if (process.env.MA_TEST_TMPDIR === undefined && writable("/dev/shm")) process.env.MA_TEST_TMPDIR = "/dev/shm";
afterAll(cleanupRun);

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
