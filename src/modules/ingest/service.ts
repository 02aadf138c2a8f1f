import type { Enricher } from "../../enrich/enrich";
import { AppError } from "../../errors";
import type { Logger } from "../../observe/log";
import type { Metrics } from "../../observe/metrics";
import type { ShardOutcome, Store } from "../../store/store";
import type { AddressedEvent, IncomingEvent } from "./model";

export interface IngestService {
  /** Enriches and stores events of one website; answers how many were stored. */
  insert(website: string, events: IncomingEvent[]): Promise<number>;
  /** The same for events that each name their website. */
  insertAddressed(events: AddressedEvent[]): Promise<number>;
}

export function createIngestService(store: Store, enrich: Enricher, metrics: Metrics, log: Logger): IngestService {
  const insertGroups = async (groups: Iterable<[string, IncomingEvent[]]>): Promise<number> => {
    const writes = Array.from(groups, ([website, events]) => store.append(website, events.map(enrich)));
    const outcomes = (await Promise.all(writes)).flat();
    const stored = outcomes.filter((outcome) => outcome.error === undefined);
    const failed = outcomes.filter((outcome) => outcome.error !== undefined);
    const inserted = count(stored);
    metrics.eventsIngested(inserted);
    if (failed.length > 0) {
      for (const { website, month, events, error } of failed) {
        log.error("insert failed", { shard: `${website}/${month}`, events, error: String(error) });
      }
      throw insertFailed(stored, failed);
    }
    return inserted;
  };

  return {
    insert: (website, events) => insertGroups([[website, events]]),
    insertAddressed: (events) => insertGroups(Map.groupBy(events, (event) => event.website)),
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
