import { AppError } from "../../errors";
import type { Visit } from "../../store/visit";
import { assertWebsiteName } from "../../store/website";
import { formatTime, parseTime, type UnixSeconds } from "../../time";

/**
 * An event as a client sent it, checked and typed: the visit's fields as the
 * body gave them ("" when absent), and the two headers enrichment reads.
 */
export interface IncomingEvent extends Visit {
  /** From the event's `headers`, matched in any case; "" when absent. */
  userAgent: string;
  referer: string;
  /** The client's own name for the event: stored once per website and month (see event-ids.ts). */
  id?: string;
}

/** What an event must keep to, fixed per request: its times and the configured limits. */
export interface EventRules {
  /** When the request is handled: the time of events that give none, and a day before the latest time accepted. */
  now: UnixSeconds;
  /** The oldest time that may be stored (retention); 0 when all are kept. */
  oldest: UnixSeconds;
  maxFieldLength: number;
  maxHeaders: number;
  maxBulkItems: number;
  /** The request's own client and headers: what an event that names no visitor is about. */
  requester: Requester;
}

/**
 * Who sent the request (see src/http/client-address.ts) and the headers it
 * came with. An event without `ip` is the requester's own: its address is
 * the requester's, and so are the User-Agent and Referer its `headers` do
 * not give. An event with `ip` is relayed for someone else (a server posting
 * its visitors' events), whose headers are not the relay's.
 */
export interface Requester {
  ip: string;
  userAgent: string;
  referer: string;
}

export interface AddressedEvent extends IncomingEvent {
  website: string;
}

/** How far ahead of the service's clock an event may be: a client's clock a little fast, a zone mistaken for UTC. */
export const MAX_AHEAD_SECONDS = 86_400;

const TEXT_FIELDS = ["event", "path", "ip", "platform", "refererDomain", "countryCode"] as const;

/** The body of `POST /:website`: one event. */
export function parseSingleBody(body: unknown, rules: EventRules): IncomingEvent {
  return parseEvent(body, "", rules);
}

/** The body of `POST /:website/bulk`: `{"list": [event, …]}`. */
export function parseBulkBody(body: unknown, rules: EventRules): IncomingEvent[] {
  return listOf(body, rules.maxBulkItems).map((item, index) => parseEvent(item, `list[${index}].`, rules));
}

/** The body of `POST /bulk`: `{"list": [event + "website", …]}`. */
export function parseMultiBulkBody(body: unknown, rules: EventRules): AddressedEvent[] {
  return listOf(body, rules.maxBulkItems).map((item, index) => {
    const at = `list[${index}].`;
    const event = parseEvent(item, at, rules);
    const website = (item as Record<string, unknown>).website;
    if (website === undefined) throw invalid(`${at}website`, "is required");
    assertWebsiteName(website, `${at}website`);
    return { ...event, website };
  });
}

function listOf(body: unknown, maxItems: number): unknown[] {
  if (!isObject(body) || !Array.isArray(body.list)) {
    throw new AppError("InvalidEvent", 'body: expected an object {"list": [event, …]}.');
  }
  if (body.list.length > maxItems) {
    throw new AppError("LimitExceeded", `list: ${body.list.length} events is over the limit of ${maxItems} a request (--max-bulk-items); split it.`);
  }
  return body.list;
}

function parseEvent(raw: unknown, at: string, rules: EventRules): IncomingEvent {
  if (!isObject(raw)) throw invalid(at ? at.slice(0, -1) : "body", "must be a JSON object");
  const event: IncomingEvent = {
    time: raw.time === undefined ? rules.now : parseTime(raw.time, `${at}time`),
    event: "",
    path: "",
    ip: rules.requester.ip,
    platform: "",
    refererDomain: "",
    countryCode: "",
    userAgent: "",
    referer: "",
  };
  if (event.time > rules.now + MAX_AHEAD_SECONDS) {
    throw new AppError(
      "InvalidTimeFormat",
      `${at}time: ${JSON.stringify(raw.time)} is more than a day ahead of the service's clock (${formatTime(rules.now)}); an event's time may be at most 24 hours in the future.`,
    );
  }
  if (event.time < rules.oldest) {
    throw invalid(`${at}time`, `${JSON.stringify(raw.time)} is older than this service keeps (--retention-months); nothing before ${formatTime(rules.oldest)} is stored`);
  }
  for (const field of TEXT_FIELDS) {
    const value = raw[field];
    if (value !== undefined) event[field] = text(value, at, field, rules.maxFieldLength);
  }
  const named = raw.headers === undefined ? { userAgent: false, referer: false } : readHeaders(raw.headers, `${at}headers`, event, rules);
  if (raw.ip === undefined) {
    if (!named.userAgent) event.userAgent = rules.requester.userAgent;
    if (!named.referer) event.referer = rules.requester.referer;
  }
  if (raw.id !== undefined) event.id = eventId(raw.id, `${at}id`);
  return event;
}

/** Checks every header value, and keeps the two that enrichment reads; answers which of them were named. */
function readHeaders(raw: unknown, at: string, event: IncomingEvent, rules: EventRules): { userAgent: boolean; referer: boolean } {
  if (!isObject(raw)) throw invalid(at, "must be an object of header names to string values");
  const named = { userAgent: false, referer: false };
  let count = 0;
  for (const name in raw) {
    if (++count > rules.maxHeaders) {
      throw new AppError("LimitExceeded", `${at}: more than ${rules.maxHeaders} headers (--max-headers); send only User-Agent and Referer.`);
    }
    const value = text(raw[name], `${at}.`, name, rules.maxFieldLength);
    switch (name.toLowerCase()) {
      case "user-agent":
        event.userAgent = value;
        named.userAgent = true;
        break;
      case "referer":
      case "referrer":
        event.referer = value;
        named.referer = true;
        break;
    }
  }
  return named;
}

/** `at` and `field` name the place in an error; they are joined only when there is one. */
function text(value: unknown, at: string, field: string, maxLength: number): string {
  if (typeof value !== "string") throw invalid(at + field, `must be a string, not ${describe(value)}`);
  if (value.length > maxLength) {
    throw new AppError("LimitExceeded", `${at}${field}: ${value.length} characters is over the limit of ${maxLength} (--max-field-length).`);
  }
  if (value.includes("\0")) throw invalid(at + field, "must not contain NUL characters");
  return value;
}

/** 1 to 128 printable ASCII characters without spaces: UUIDs, ULIDs, hashes, base64 and counters all fit. */
const EVENT_ID = /^[\x21-\x7e]{1,128}$/;

function eventId(value: unknown, at: string): string {
  if (typeof value !== "string") throw invalid(at, `must be a string, not ${describe(value)}`);
  if (!EVENT_ID.test(value)) throw invalid(at, `${JSON.stringify(value.slice(0, 140))} is not an event id; use 1 to 128 printable ASCII characters without spaces`);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

function invalid(at: string, problem: string): AppError {
  return new AppError("InvalidEvent", `${at}: ${problem}.`);
}
