import { randomUUID } from "node:crypto";
import type { Limits } from "../../config/config";
import { AppError } from "../../errors";
import type { AddressedEvent } from "../ingest/model";
import type { InsertResult } from "../ingest/service";
import { describeAnswer, eachBounded, type NodeClient } from "./client";

/** A part of a split bulk is tried this many times when the router or its node cannot take it now. */
const ATTEMPTS = 3;
/** Answers worth another try: the node is down or restarting (502, 504), busy moving the website (503), or not its owner yet (421). */
const RETRYABLE = new Set([421, 502, 503, 504]);
/** The longest a Retry-After is waited for before the part is given up and named as not stored. */
const MAX_RETRY_WAIT_MS = 2_000;
/** How many websites an error message names before it says "and N more" (the details list them all). */
const NAMED = 20;

export type BulkSplitter = (events: AddressedEvent[], list: unknown[]) => Promise<InsertResult>;

interface WebsiteOutcome {
  website: string;
  events: number;
  inserted: number;
  duplicates: number;
  bots: number;
  /** Why a part of it was not stored; unset when all of it was. */
  failure?: string;
}

/**
 * `POST /bulk` on a node with `--router`: no router splits a body, so the
 * node does. The whole request has been checked already (all or nothing, as
 * on one machine); each website's events are then sent to
 * `<router>/<website>/bulk`, which takes them to the website's owner, at
 * most `concurrency` requests at once.
 *
 * Every forwarded event carries an id: the client's, or one made from the
 * request (a digest of its events and the event's place in the list), so
 * this node's own retries, and a client's retry of the same body, store
 * nothing twice. A body in which an event has neither id nor time is a new
 * event each time it is sent (its time is the moment it arrives), so its
 * digest also takes a random part: two such identical bodies are never
 * taken for one.
 *
 * The answer is 200 only when every website's events were stored;
 * otherwise a 502 that names the websites stored and those not, so that
 * the client sends the same request again.
 */
export function createBulkSplitter(router: string, concurrency: number, limits: Limits, client: NodeClient): BulkSplitter {
  return async (events, list) => {
    const digest = new Bun.CryptoHasher("sha256").update(JSON.stringify(list));
    const once = events.some((event, i) => event.id === undefined && (list[i] as Record<string, unknown>).time === undefined);
    if (once) digest.update(randomUUID());
    const prefix = `~${digest.digest("base64url").slice(0, 22)}.`;

    const byWebsite = new Map<string, string[]>();
    events.forEach((event, i) => {
      const line = JSON.stringify(forwarded(event, event.id ?? prefix + i));
      const lines = byWebsite.get(event.website);
      if (lines) lines.push(line);
      else byWebsite.set(event.website, [line]);
    });

    const outcomes = new Map<string, WebsiteOutcome>();
    const parts: { website: string; body: string }[] = [];
    for (const [website, lines] of byWebsite) {
      outcomes.set(website, { website, events: lines.length, inserted: 0, duplicates: 0, bots: 0 });
      for (const body of chunks(lines, limits)) parts.push({ website, body });
    }

    await eachBounded(parts, concurrency, async ({ website, body }) => {
      const outcome = outcomes.get(website)!;
      const sent = await send(client, `${router}/${encodeURIComponent(website)}/bulk`, body);
      if ("failure" in sent) outcome.failure ??= sent.failure;
      else {
        outcome.inserted += sent.inserted;
        outcome.duplicates += sent.duplicates;
        outcome.bots += sent.bots;
      }
    });

    const all = Array.from(outcomes.values());
    const unstored = all.filter((outcome) => outcome.failure !== undefined);
    const inserted = all.reduce((sum, outcome) => sum + outcome.inserted, 0);
    const duplicates = all.reduce((sum, outcome) => sum + outcome.duplicates, 0);
    const bots = all.reduce((sum, outcome) => sum + outcome.bots, 0);
    if (unstored.length === 0) return bots > 0 ? { inserted, duplicates, bots } : { inserted, duplicates };
    throw forwardFailed(all.filter((outcome) => outcome.failure === undefined), unstored, !once);
  };
}

/**
 * An event as its owner is sent it: as this node read it, with the address
 * and headers it resolved (an event that names no visitor is the requester's
 * own, and the owner's requester is this node), its time and an id. The
 * owner enriches it (and applies its --ip-mode and --bots) from these, as it
 * would the client's own request. Empty fields are left out.
 */
function forwarded(event: AddressedEvent, id: string): Record<string, unknown> {
  const out: Record<string, unknown> = { time: event.time, id, ip: event.ip };
  for (const field of ["event", "path", "platform", "refererDomain", "countryCode"] as const) if (event[field] !== "") out[field] = event[field];
  const headers: Record<string, string> = {};
  if (event.userAgent !== "") headers["User-Agent"] = event.userAgent;
  if (event.referer !== "") headers.Referer = event.referer;
  if (event.userAgent !== "" || event.referer !== "") out.headers = headers;
  return out;
}

/** A website's events in requests its owner takes: within --max-body-size and --max-bulk-items, as every node has the same limits. */
function* chunks(lines: string[], { maxBodyBytes, maxBulkItems }: Limits): Generator<string> {
  const frame = '{"list":[]}'.length;
  let part: string[] = [];
  let bytes = frame;
  for (const line of lines) {
    const size = Buffer.byteLength(line) + 1;
    if (part.length > 0 && (bytes + size > maxBodyBytes || part.length === maxBulkItems)) {
      yield `{"list":[${part.join(",")}]}`;
      part = [];
      bytes = frame;
    }
    part.push(line);
    bytes += size;
  }
  if (part.length > 0) yield `{"list":[${part.join(",")}]}`;
}

async function send(client: NodeClient, url: string, body: string): Promise<{ inserted: number; duplicates: number; bots: number } | { failure: string }> {
  for (let attempt = 1; ; attempt++) {
    let failure: string;
    let wait = 250 * attempt;
    try {
      const answer = await client.json(url, { body });
      if (answer.status === 200) return { inserted: answer.body.inserted, duplicates: answer.body.duplicates ?? 0, bots: answer.body.bots ?? 0 };
      failure = describeAnswer(answer);
      if (!RETRYABLE.has(answer.status)) return { failure };
      const retryAfter = Number(answer.headers.get("retry-after"));
      if (retryAfter > 0) wait = Math.min(retryAfter * 1000, MAX_RETRY_WAIT_MS);
    } catch (error) {
      failure = `the router did not answer (${(error as Error).message})`;
    }
    if (attempt === ATTEMPTS) return { failure };
    await Bun.sleep(wait);
  }
}

/** `exact`: whether the same body sent again gets the same ids (see createBulkSplitter). */
function forwardFailed(stored: WebsiteOutcome[], unstored: WebsiteOutcome[], exact: boolean): AppError {
  const names = (list: WebsiteOutcome[], say: (outcome: WebsiteOutcome) => string) =>
    list.slice(0, NAMED).map(say).join(", ") + (list.length > NAMED ? ` and ${list.length - NAMED} more` : "");
  const message =
    `The events of ${names(unstored, (o) => `${o.website} (${o.failure})`)} could not be stored` +
    (stored.length > 0 ? `; those of ${names(stored, (o) => o.website)} were. ` : "; nothing else was either. ") +
    (exact
      ? "Send the same request again: every event has an id, so what was stored is not stored twice."
      : "Some events have neither a time nor an id, so the same request sent again would store them twice: send only the websites not stored, or give every event a time or an id.");
  return new AppError("ForwardFailed", message, {}, {
    stored: stored.map(({ website, inserted, duplicates }) => ({ website, inserted, duplicates })),
    unstored: unstored.map(({ website, events, failure }) => ({ website, events, reason: failure })),
  });
}
