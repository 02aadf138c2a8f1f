import type { Enricher } from "../../enrich/enrich";
import { AppError } from "../../errors";
import type { Store } from "../../store/store";
import type { AddressedEvent, IncomingEvent } from "./model";

export interface IngestService {
  /** Enriches and stores events of one website; answers how many were stored. */
  insert(website: string, events: IncomingEvent[]): number;
  /** The same for events that each name their website. */
  insertAddressed(events: AddressedEvent[]): number;
}

export function createIngestService(store: Store, enrich: Enricher): IngestService {
  const insert = (website: string, events: IncomingEvent[]): number => {
    const visits = events.map(enrich);
    try {
      store.append(website, visits);
    } catch (error) {
      console.error(`insert into ${website} failed:`, error);
      throw new AppError("InsertFailed", `Could not store the events of ${website}; nothing acknowledged was lost, retry the request.`);
    }
    return visits.length;
  };

  return {
    insert,
    insertAddressed(events) {
      const byWebsite = Map.groupBy(events, (event) => event.website);
      let inserted = 0;
      for (const [website, group] of byWebsite) inserted += insert(website, group);
      return inserted;
    },
  };
}
