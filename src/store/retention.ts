import { monthOf, type UnixSeconds } from "../time";

/**
 * With `--retention-months N` the current month and the N-1 before it are
 * kept: this is the first second of the oldest of them (0 when N is 0, off).
 */
export function retentionStart(now: UnixSeconds, months: number): UnixSeconds {
  if (months === 0) return 0;
  const today = new Date(now * 1000);
  return Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - (months - 1), 1) / 1000;
}

/** The shard month that `retentionStart` falls in: every month before it is dropped. */
export function oldestKeptMonth(now: UnixSeconds, months: number): string {
  return monthOf(retentionStart(now, months));
}
