import { closeSync, fsyncSync, openSync } from "node:fs";

/** fsync(2) on a file or a directory: a rename or a new file in it survives power loss only once its directory is synced. */
export function syncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
