import { randomFillSync } from "node:crypto";
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { syncPath } from "../store/durable";

/** The hash mode's key, in the root unless `--ip-key-file` names another file. */
export const HASH_KEY_FILE = ".ip-hash-key";
/** The daily mode's key: the UTC day it is for (`YYYY-MM-DD`), then the key. */
export const DAILY_KEY_FILE = ".ip-daily-key";

const KEY_BYTES = 32;
const DAY_BYTES = 10;
const DAY_MS = 86_400_000;

export interface HashKey {
  key: Buffer;
  path: string;
  /** Made by this call: there was none. */
  created: boolean;
  /** Set when others than the file's owner may read it. */
  warning?: string;
}

export function hashKeyPath(root: string, keyFile: string | undefined): string {
  return keyFile ?? join(root, HASH_KEY_FILE);
}

/**
 * The hash mode's key: the bytes of `--ip-key-file` (which must exist), or
 * of the root's key file, made with 32 random bytes (mode 0600) when there
 * is none. A key shorter than 32 bytes is refused: it could be guessed.
 */
export function openHashKey(root: string, keyFile: string | undefined): HashKey {
  const path = hashKeyPath(root, keyFile);
  if (keyFile === undefined && !existsSync(path)) {
    const key = newKey();
    writeSecret(path, key);
    return { key, path, created: true };
  }
  return { ...readKey(path), path, created: false };
}

/** The hash mode's key where there is one, without making one: what erasure and the keep mode look for. */
export function existingHashKey(root: string, keyFile: string | undefined): Buffer | undefined {
  const path = hashKeyPath(root, keyFile);
  return existsSync(path) ? readKey(path).key : undefined;
}

/** The daily mode's key where its file is of the current UTC day, without making one. */
export function existingDailyKey(root: string, now = Date.now()): Buffer | undefined {
  const path = join(root, DAILY_KEY_FILE);
  if (!existsSync(path)) return undefined;
  const bytes = readFileSync(path);
  const fresh = bytes.length === DAY_BYTES + KEY_BYTES && bytes.toString("latin1", 0, DAY_BYTES) === dayOf(now);
  const key = fresh ? Buffer.alloc(KEY_BYTES) : undefined;
  if (key) bytes.copy(key, 0, DAY_BYTES);
  bytes.fill(0);
  return key;
}

function readKey(path: string): { key: Buffer; warning?: string } {
  const bytes = readFileSync(path);
  const key = Buffer.alloc(bytes.length);
  bytes.copy(key);
  bytes.fill(0);
  if (key.length < KEY_BYTES) {
    throw new Error(`${path} holds ${key.length} bytes; a key needs at least ${KEY_BYTES} (make one with: head -c 32 /dev/urandom > ${path}; chmod 600 ${path})`);
  }
  const mode = statSync(path).mode & 0o777;
  const warning = mode & 0o077 ? `${path} may be read by others than its owner (mode ${mode.toString(8)}); chmod 600 it` : undefined;
  return { key, warning };
}

/**
 * The daily mode's key: one for each UTC day, kept in the root so that a
 * restart within the day keeps counting a visitor once. At midnight UTC
 * (or at the first use after it, should the timer be late) the day's key is
 * overwritten with zeros, in memory and in its file, and a new one takes its
 * place: no one can then link a visitor's hashes across days, us included.
 */
export class DailyKey {
  private key: Buffer;
  private day: string;
  private timer: Timer | undefined;

  constructor(
    private readonly root: string,
    private readonly clock: () => number,
    /** Told after each change of key, so hashes made with the old one can be forgotten. */
    private readonly onRotate: () => void,
  ) {
    const { key, day } = this.load();
    this.key = key;
    this.day = day;
    this.schedule();
  }

  get path(): string {
    return join(this.root, DAILY_KEY_FILE);
  }

  /** The key of the current UTC day. */
  current(): Buffer {
    if (dayOf(this.clock()) !== this.day) this.rotate();
    return this.key;
  }

  /** Stops the timer and wipes the key from memory; its file stays, for a restart on the same day. */
  close(): void {
    clearTimeout(this.timer);
    this.key.fill(0);
  }

  private load(): { key: Buffer; day: string } {
    const today = dayOf(this.clock());
    if (existsSync(this.path)) {
      const bytes = readFileSync(this.path);
      const fresh = bytes.length === DAY_BYTES + KEY_BYTES && bytes.toString("latin1", 0, DAY_BYTES) === today;
      const key = Buffer.alloc(KEY_BYTES);
      if (fresh) bytes.copy(key, 0, DAY_BYTES);
      bytes.fill(0);
      if (fresh) return { key, day: today };
      wipeFile(this.path);
    }
    return { key: this.write(today), day: today };
  }

  private rotate(): void {
    const today = dayOf(this.clock());
    wipeFile(this.path);
    this.key.fill(0);
    this.key = this.write(today);
    this.day = today;
    this.onRotate();
  }

  private write(day: string): Buffer {
    const key = newKey();
    const record = Buffer.alloc(DAY_BYTES + KEY_BYTES);
    record.write(day, 0, "latin1");
    key.copy(record, DAY_BYTES);
    writeSecret(this.path, record);
    record.fill(0);
    return key;
  }

  /** Wakes at the next UTC midnight to change the key even if no event comes. */
  private schedule(): void {
    const now = this.clock();
    const midnight = (Math.floor(now / DAY_MS) + 1) * DAY_MS;
    this.timer = setTimeout(() => {
      this.current();
      this.schedule();
    }, midnight - now + 1);
    this.timer.unref();
  }
}

/** `YYYY-MM-DD` of a time in milliseconds, UTC. */
function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** A key in a buffer of its own (never a slice of a shared pool), so that wiping it wipes every copy we made. */
function newKey(): Buffer {
  const key = Buffer.alloc(KEY_BYTES);
  randomFillSync(key);
  return key;
}

/**
 * Writes a file readable by its owner alone, whole or not at all: a
 * temporary file (mode 0600 from its creation) is written, synced and
 * renamed into place.
 */
function writeSecret(path: string, bytes: Buffer): void {
  const temporary = `${path}.new`;
  rmSync(temporary, { force: true });
  const fd = openSync(temporary, "wx", 0o600);
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  syncPath(dirname(path));
}

/**
 * Overwrites a file's bytes with zeros where they lie, and syncs them, before
 * it is replaced: a rename alone would free the old blocks with the key still
 * in them. (A copy-on-write file system, a snapshot or a backup may still
 * hold one; see docs/operations.md, "Privacy".)
 */
function wipeFile(path: string): void {
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, Buffer.alloc(statSync(path).size), 0);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
