import type { Enricher } from "../../enrich/enrich";
import { AppError } from "../../errors";
import type { Logger } from "../../observe/log";
import type { Metrics } from "../../observe/metrics";
import type { ShardOutcome, Store } from "../../store/store";
import type { NewVisit } from "../../store/visit";
import type { AddressedEvent, IncomingEvent } from "./model";

/** A write's answer: how many events were stored, and, when the request gave ids, how many were stored before. */
export interface InsertResult {
  inserted: number;
  duplicates?: number;
  /** Events left out by --bots drop. */
  bots?: number;
}

export interface IngestService {
  /** Enriches and stores events of one website. */
  insert(website: string, events: IncomingEvent[]): Promise<InsertResult>;
  /** The same for events that each name their website. */
  insertAddressed(events: AddressedEvent[]): Promise<InsertResult>;
}

/**
 * `maxNewShards` (--max-new-shards) bounds the month shards one request may
 * create: each costs a file and fsyncs, where an event costs a row, so a
 * small request spread over thousands of months would cost the service
 * thousands of times more than its size. It is checked before anything is
 * stored.
 */
export function createIngestService(store: Store, enrich: Enricher, metrics: Metrics, log: Logger, maxNewShards: number): IngestService {
  const insertGroups = async (groups: [string, IncomingEvent[]][]): Promise<InsertResult> => {
    const created = groups.reduce((sum, [website, events]) => sum + store.newShards(website, events), 0);
    if (created > maxNewShards) {
      throw new AppError(
        "LimitExceeded",
        `list: these events would create ${created} new month shards (one for each website and month not stored yet), over the limit of ${maxNewShards} a request (--max-new-shards); send fewer months or websites in one request.`,
      );
    }
    const visit = (event: IncomingEvent): NewVisit => {
      const row: NewVisit = enrich(event);
      if (event.id !== undefined) row.id = event.id;
      return row;
    };
    const outcomes = await store.append(groups.map(([website, events]) => [website, events.map(visit)] as const));
    const stored = outcomes.filter((outcome) => outcome.error === undefined);
    const failed = outcomes.filter((outcome) => outcome.error !== undefined);
    const duplicates = stored.reduce((sum, outcome) => sum + outcome.duplicates, 0);
    const inserted = count(stored) - duplicates;
    metrics.eventsIngested(inserted);
    if (failed.length > 0) {
      for (const { website, month, events, error } of failed) {
        log.error("insert failed", { shard: `${website}/${month}`, events, error: String(error) });
      }
      throw insertFailed(stored, failed);
    }
    const withIds = groups.some(([, events]) => events.some((event) => event.id !== undefined));
    return withIds ? { inserted, duplicates } : { inserted };
  };

  return {
    insert: (website, events) => insertGroups([[website, events]]),
    insertAddressed: (events) => insertGroups(Array.from(Map.groupBy(events, (event) => event.website))),
  };
}

function count(outcomes: ShardOutcome[]): number {
  return outcomes.reduce((sum, outcome) => sum + outcome.events, 0);
}

/** Names what was stored and what was not, so a client can retry only the rest. */
function insertFailed(stored: ShardOutcome[], failed: ShardOutcome[]): AppError {
  const describe = (list: ShardOutcome[]) => list.map((o) => `${o.website}/${o.month} (${o.events} events)`).join(", ");
  return new AppError(
    "InsertFailed",
    `Could not store the events of ${describe(failed)}; ` +
      (stored.length > 0 ? `the events of ${describe(stored)} were stored. ` : "nothing was stored. ") +
      "Retry the events that were not stored.",
  );
}
