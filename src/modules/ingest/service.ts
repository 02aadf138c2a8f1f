import type { Enricher } from "../../enrich/enrich";
import { AppError } from "../../errors";
import type { ShardOutcome, Store } from "../../store/store";
import type { AddressedEvent, IncomingEvent } from "./model";

export interface IngestService {
  /** Enriches and stores events of one website; answers how many were stored. */
  insert(website: string, events: IncomingEvent[]): Promise<number>;
  /** The same for events that each name their website. */
  insertAddressed(events: AddressedEvent[]): Promise<number>;
}

export function createIngestService(store: Store, enrich: Enricher): IngestService {
  const insertGroups = async (groups: Iterable<[string, IncomingEvent[]]>): Promise<number> => {
    const writes = Array.from(groups, ([website, events]) => store.append(website, events.map(enrich)));
    const outcomes = (await Promise.all(writes)).flat();
    const failed = outcomes.filter((outcome) => outcome.error !== undefined);
    if (failed.length > 0) throw insertFailed(outcomes, failed);
    return outcomes.reduce((sum, outcome) => sum + outcome.events, 0);
  };

  return {
    insert: (website, events) => insertGroups([[website, events]]),
    insertAddressed: (events) => insertGroups(Map.groupBy(events, (event) => event.website)),
  };
}

/** Names what was stored and what was not, so a client can retry only the rest. */
function insertFailed(outcomes: ShardOutcome[], failed: ShardOutcome[]): AppError {
  const describe = (list: ShardOutcome[]) => list.map((o) => `${o.website}/${o.month} (${o.events} events)`).join(", ");
  for (const outcome of failed) console.error(`insert into ${outcome.website}/${outcome.month} failed:`, outcome.error);
  const stored = outcomes.filter((outcome) => outcome.error === undefined);
  return new AppError(
    "InsertFailed",
    `Could not store the events of ${describe(failed)}; ` +
      (stored.length > 0 ? `the events of ${describe(stored)} were stored. ` : "nothing was stored. ") +
      "Retry the events that were not stored.",
  );
}
