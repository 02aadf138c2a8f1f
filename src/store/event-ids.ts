import type { Database, Statement } from "bun:sqlite";

/**
 * The ids clients gave their events, one table per shard beside `visits`
 * (whose columns are the contract's and stay as they are). A row here means
 * an event with that id is stored in this month: a second one is not.
 *
 * Ids are kept per month, as events are: an event's month is fixed by its
 * time, so a retried event (same id, same time) always meets its first copy
 * here. An id sent again with a time in another month is another event.
 *
 * The table does not point at the event's row: VACUUM, which backups and
 * moves between nodes copy shards with, may renumber rows. It is made the
 * first time a shard is given an id, so shards that never see one keep
 * exactly the original's schema.
 */
const CREATE = "CREATE TABLE IF NOT EXISTS event_ids (id TEXT PRIMARY KEY) WITHOUT ROWID";

/** Makes the table if needed; the statement's `changes` is 0 when the id was stored already. */
export function prepareIdInsert(db: Database): Statement<unknown, [string]> {
  db.run(CREATE);
  return db.prepare<unknown, [string]>("INSERT OR IGNORE INTO event_ids (id) VALUES (?)");
}

/** How many ids the shard holds: 0 when it has never been given one. */
export function countEventIds(db: Database): number {
  const table = db.query<{ n: number }, []>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'event_ids'").get()!;
  if (table.n === 0) return 0;
  return db.query<{ n: number }, []>("SELECT count(*) AS n FROM event_ids").get()!.n;
}
