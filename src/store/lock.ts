import { dlopen, FFIType } from "bun:ffi";
import { closeSync, ftruncateSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";

const LOCK_FILE = ".micro-analytics.lock";
const LOCK_EX = 2;
const LOCK_NB = 4;

const LIBC_NAMES = process.platform === "darwin" ? ["libSystem.B.dylib"] : ["libc.so.6", "libc.so", `libc.musl-${process.arch === "arm64" ? "aarch64" : "x86_64"}.so.1`];

function loadFlock(): ((fd: number, operation: number) => number) | undefined {
  for (const name of LIBC_NAMES) {
    try {
      const libc = dlopen(name, { flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } });
      return (fd, operation) => libc.symbols.flock(fd, operation);
    } catch {
      // Not this C library's name on this system; try the next.
    }
  }
  return undefined;
}

/** The root's lock, held until released or until the process ends. */
export interface RootLock {
  release(): void;
}

/**
 * Takes an exclusive lock on the root for as long as this process lives (or
 * until `release`, when the services close in a process that goes on, as
 * in-process tests do), so a second instance on the same data refuses to
 * start instead of sharing the files. flock(2) is released by the kernel when
 * the process dies, even by SIGKILL, so a crash never leaves a stale lock behind.
 *
 * Returns undefined when another process holds the lock.
 */
export function lockRoot(root: string): RootLock | undefined {
  const flock = loadFlock();
  const fd = openSync(join(root, LOCK_FILE), "a+");
  if (flock && flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    closeSync(fd);
    return undefined;
  }
  // For a person looking at the directory: which process holds it.
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`);
  return { release: () => closeSync(fd) };
}
