import { AppError } from "../../errors";
import { assertWebsiteName } from "../../store/website";
import { parseTime, type UnixSeconds } from "../../time";

/** An event as a client sent it, checked and typed; enrichment comes after. */
export interface IncomingEvent {
  time: UnixSeconds;
  event: string;
  path: string;
  ip: string;
  platform: string;
  refererDomain: string;
  countryCode: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
}

export interface AddressedEvent extends IncomingEvent {
  website: string;
}

const TEXT_FIELDS = ["event", "path", "ip", "platform", "refererDomain", "countryCode"] as const;

/** The body of `POST /:website`: one event. */
export function parseSingleBody(body: unknown, now: UnixSeconds): IncomingEvent {
  return parseEvent(body, "", now);
}

/** The body of `POST /:website/bulk`: `{"list": [event, …]}`. */
export function parseBulkBody(body: unknown, now: UnixSeconds): IncomingEvent[] {
  return listOf(body).map((item, index) => parseEvent(item, `list[${index}].`, now));
}

/** The body of `POST /bulk`: `{"list": [event + "website", …]}`. */
export function parseMultiBulkBody(body: unknown, now: UnixSeconds): AddressedEvent[] {
  return listOf(body).map((item, index) => {
    const at = `list[${index}].`;
    const event = parseEvent(item, at, now);
    const website = (item as Record<string, unknown>).website;
    if (website === undefined) throw invalid(`${at}website`, "is required");
    assertWebsiteName(website, `${at}website`);
    return { ...event, website };
  });
}

function listOf(body: unknown): unknown[] {
  if (!isObject(body) || !Array.isArray(body.list)) {
    throw new AppError("InvalidEvent", 'body: expected an object {"list": [event, …]}.');
  }
  return body.list;
}

function parseEvent(raw: unknown, at: string, now: UnixSeconds): IncomingEvent {
  if (!isObject(raw)) throw invalid(at ? at.slice(0, -1) : "body", "must be a JSON object");
  const event: IncomingEvent = {
    time: raw.time === undefined ? now : parseTime(raw.time, `${at}time`),
    event: "",
    path: "",
    ip: "",
    platform: "",
    refererDomain: "",
    countryCode: "",
    headers: parseHeaders(raw.headers, `${at}headers`),
  };
  for (const field of TEXT_FIELDS) {
    const value = raw[field];
    if (value !== undefined) event[field] = text(value, `${at}${field}`);
  }
  return event;
}

function parseHeaders(raw: unknown, at: string): Record<string, string> {
  if (raw === undefined) return {};
  if (!isObject(raw)) throw invalid(at, "must be an object of header names to string values");
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    headers[name.toLowerCase()] = text(value, `${at}.${name}`);
  }
  return headers;
}

function text(value: unknown, at: string): string {
  if (typeof value !== "string") throw invalid(at, `must be a string, not ${describe(value)}`);
  if (value.includes("\0")) throw invalid(at, "must not contain NUL characters");
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
