import { closeSync, openSync, readFileSync, readSync } from "node:fs";

const PAGE = 4096;
/** Pages of a region looked up in /proc/PID/pagemap at a time. */
const PAGES_AT_ONCE = 32_768;

/**
 * How many times `pattern` occurs in the memory of process `pid` (Linux;
 * the process must be this one's child, or ptrace rules forbid reading it).
 * Of each readable region /proc/PID/maps lists, only the pages present in
 * memory (as /proc/PID/pagemap says) are read, through /proc/PID/mem: Bun
 * maps gigabytes it never touches. A range that cannot be read is skipped.
 */
export function countInMemory(pid: number, pattern: Buffer): number {
  const regions = readFileSync(`/proc/${pid}/maps`, "utf8")
    .split("\n")
    .map((line) => line.split(/\s+/))
    .filter(([range, perms, , , , name]) => range && perms?.startsWith("r") && !/^\[(vvar|vsyscall|vvar_vclock)\]$/.test(name ?? ""))
    .map(([range]) => range!.split("-").map((hex) => parseInt(hex, 16)) as [number, number]);
  const mem = openSync(`/proc/${pid}/mem`, "r");
  const pagemap = openSync(`/proc/${pid}/pagemap`, "r");
  const entries = Buffer.alloc(PAGES_AT_ONCE * 8);
  let found = 0;
  const search = (start: number, end: number) => {
    const bytes = Buffer.alloc(end - start);
    let read: number;
    try {
      read = readSync(mem, bytes, 0, bytes.length, start);
    } catch {
      return;
    }
    const view = bytes.subarray(0, read);
    for (let i = view.indexOf(pattern); i >= 0; i = view.indexOf(pattern, i + 1)) found++;
  };
  try {
    for (const [start, end] of regions) {
      let run: number | undefined;
      for (let page = start / PAGE; page < end / PAGE; page += PAGES_AT_ONCE) {
        const count = Math.min(PAGES_AT_ONCE, end / PAGE - page);
        const got = readSync(pagemap, entries, 0, count * 8, page * 8) / 8;
        for (let i = 0; i < count; i++) {
          // Bit 63: present in memory.
          const present = i < got && (entries[i * 8 + 7]! & 0x80) !== 0;
          const address = (page + i) * PAGE;
          if (present && run === undefined) run = address;
          if (!present && run !== undefined) {
            search(run, address);
            run = undefined;
          }
        }
      }
      if (run !== undefined) search(run, end);
    }
  } finally {
    closeSync(mem);
    closeSync(pagemap);
  }
  return found;
}
