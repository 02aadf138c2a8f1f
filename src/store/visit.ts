import type { UnixSeconds } from "../time";

/** One row of a shard's `visits` table, as the contract fixes it. */
export interface Visit {
  time: UnixSeconds;
  event: string;
  path: string;
  ip: string;
  platform: string;
  refererDomain: string;
  countryCode: string;
}

/** An inclusive time range; a missing bound is open. */
export interface TimeRange {
  start?: UnixSeconds;
  end?: UnixSeconds;
}

/** An event about to be stored: its row, and the client's id for it when it gave one. */
export interface NewVisit extends Visit {
  id?: string;
}
