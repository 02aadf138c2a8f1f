import type { IncomingEvent } from "../modules/ingest/model";
import type { Visit } from "../store/visit";
import type { CountryLookup } from "./geoip";
import type { PlatformLookup } from "./platform";
import { refererDomain } from "./referrer";

export type Enricher = (event: IncomingEvent) => Visit;

/**
 * Fills `platform` and `refererDomain` from the event's headers where the body
 * left them empty, and `countryCode` from the IP. A country the database knows
 * wins; the body's value is kept only where the lookup finds nothing. The
 * address is stored as `--ip-mode` says (`storeAddress`), after the country
 * was looked up from it.
 */
export function createEnricher(country: CountryLookup, platform: PlatformLookup, storeAddress: (ip: string) => string = (ip) => ip): Enricher {
  return (event) => ({
    time: event.time,
    event: event.event,
    path: event.path,
    ip: storeAddress(event.ip),
    platform: event.platform || (event.userAgent ? platform(event.userAgent) : ""),
    refererDomain: event.refererDomain || (event.referer ? refererDomain(event.referer) : ""),
    countryCode: country(event.ip) ?? event.countryCode.toLowerCase(),
  });
}
