import { AppError } from "../../errors";
import { textResponse } from "../../http/answer";
import type { StreamWatcher } from "../../http/connection";
import type { Store } from "../../store/store";
import type { TimeRange } from "../../store/visit";
import { MAX_TIME } from "../../time";
import { type Filter, filterSql } from "./filters";

export type ExportFormat = "json" | "ndjson" | "csv";

/** Where a page ended: the next one starts after this row. */
export interface Position {
  month: string;
  time: number;
  rowid: number;
}

export interface ExportOptions {
  format: ExportFormat;
  /** At most this many events, then a cursor to the rest; none: every event, streamed. */
  limit?: number;
  after?: Position;
}

/** Rows read from a shard at a time: one keyset query on the time index each. */
const CHUNK = 5_000;

const TIME = "strftime('%Y-%m-%dT%H:%M:%SZ', time, 'unixepoch')";
const TEXT_COLUMNS = ["event", "path", "ip", "platform", "refererDomain", "countryCode"] as const;

/**
 * Each row is written out by SQLite itself, which is several times faster
 * than building it in JavaScript: a JSON object, or a CSV line whose text
 * fields are all quoted (RFC 4180 allows it, and it needs no test per field).
 */
const JSON_LINE = `json_object('time', ${TIME}, ${TEXT_COLUMNS.map((c) => `'${c}', IFNULL(${c}, '')`).join(", ")})`;
const CSV_LINE = `${TIME} || ',' || ${TEXT_COLUMNS.map((c) => `'"' || replace(IFNULL(${c}, ''), '"', '""') || '"'`).join(" || ',' || ")}`;
const LINE: Record<ExportFormat, string> = { json: JSON_LINE, ndjson: JSON_LINE, csv: CSV_LINE };

/**
 * The rows after (time, rowid) that pass the filters, in order, and the
 * filters' parameters (from ?6 on). The seek is on `time` alone — SQLite
 * does not seek on a row value — and the rowid only breaks ties.
 */
function pageSql(format: ExportFormat, filters: readonly Filter[]): { sql: string; params: string[] } {
  const filter = filterSql(filters, 6);
  const sql = `SELECT rowid AS id, time, ${LINE[format]} AS line FROM visits
   WHERE time >= max(?1, ?3) AND time <= ?2 AND (time > ?3 OR rowid > ?4) AND ${filter.sql}
   ORDER BY time, rowid LIMIT ?5`;
  return { sql, params: filter.params };
}

interface Row {
  id: number;
  time: number;
  line: string;
}

const CONTENT_TYPES: Record<ExportFormat, string> = {
  json: "application/json;charset=utf-8",
  ndjson: "application/x-ndjson;charset=utf-8",
  csv: "text/csv;charset=utf-8",
};

/**
 * `GET /:website`: every event in the range that passes the filters, oldest first, as JSON
 * (`{"list": […]}`), NDJSON or CSV. Without a limit the answer is streamed:
 * rows are read a chunk at a time as the client takes them, so memory does
 * not grow with the answer. With a limit it is one page, and a cursor to the
 * next (`"next"` in JSON, and the `X-Next-Cursor` header) when more remain.
 */
export function exportVisits(
  store: Store,
  website: string,
  range: TimeRange,
  filters: readonly Filter[],
  options: ExportOptions,
  watcher?: StreamWatcher,
): Response {
  const reader = new RowReader(store, website, range, pageSql(options.format, filters), options.after);
  const format = FORMATS[options.format];
  const headers: Record<string, string> = { "content-type": CONTENT_TYPES[options.format] };

  if (options.limit !== undefined) {
    const rows = reader.read(options.limit);
    const next = reader.hasMore() ? encodeCursor(reader.position()) : undefined;
    if (next) headers["x-next-cursor"] = next;
    return textResponse(format.head + format.rows(rows, true) + format.tail(next), headers);
  }

  // Once the first bytes are sent the status cannot change: a damaged shard
  // must show before, as a 500, so every month is opened and the first chunk
  // read here.
  reader.probe();
  let rows = reader.read(CHUNK);

  // A direct stream writes strings as they are and waits while the client's
  // buffer is full, so only one chunk of rows is in memory at a time.
  const stream = new ReadableStream({
    type: "direct",
    async pull(controller) {
      let gone = false;
      let bytes = 0;
      // `write` answers 0 once the client has gone away, or was cut off for reading nothing.
      const send = async (text: string) => {
        if (text === "" || gone) return;
        gone = (await controller.write(text)) === 0;
        if (!gone) bytes += Buffer.byteLength(text);
      };
      try {
        await send(format.head);
        for (let first = true; !gone; first = false, rows = reader.read(CHUNK)) {
          if (rows.length > 0) await send(format.rows(rows, first));
          // A short read means every month is exhausted.
          if (rows.length < CHUNK) break;
        }
        await send(format.tail(undefined));
      } finally {
        // Before closing: a closed stream's request no longer reaches its connection.
        watcher?.end(bytes);
      }
      controller.close();
    },
  });
  watcher?.start();
  return new Response(stream, { headers });
}

/** Reads rows in order across a website's months, remembering where it stopped. */
class RowReader {
  private readonly months: string[];
  private index = 0;
  private after: { time: number; rowid: number };

  constructor(
    private readonly store: Store,
    private readonly website: string,
    private readonly range: TimeRange,
    private readonly page: { sql: string; params: string[] },
    start: Position | undefined,
  ) {
    this.months = store.months(website, range).filter((month) => !start || month >= start.month);
    this.after = start && this.months[0] === start.month ? { time: start.time, rowid: start.rowid } : { time: -1, rowid: -1 };
  }

  /** Up to `count` rows after the current position. */
  read(count: number): Row[] {
    const rows: Row[] = [];
    while (rows.length < count && this.index < this.months.length) {
      const chunk = this.fetch(this.months[this.index]!, this.after, count - rows.length);
      for (const row of chunk) rows.push(row);
      if (chunk.length > 0) {
        const last = chunk[chunk.length - 1]!;
        this.after = { time: last.time, rowid: last.id };
      }
      if (rows.length < count) this.nextMonth();
    }
    return rows;
  }

  /** Opens every month to be read, so a damaged one fails now rather than mid-answer. */
  probe(): void {
    for (const month of this.months) this.store.withShard(this.website, month, (shard) => shard.maxRowid());
  }

  /** Whether a row follows the current position. */
  hasMore(): boolean {
    for (let i = this.index; i < this.months.length; i++) {
      const after = i === this.index ? this.after : { time: -1, rowid: -1 };
      if (this.fetch(this.months[i]!, after, 1).length > 0) return true;
    }
    return false;
  }

  position(): Position {
    return { month: this.months[this.index]!, ...this.after };
  }

  private nextMonth(): void {
    this.index++;
    this.after = { time: -1, rowid: -1 };
  }

  private fetch(month: string, after: { time: number; rowid: number }, limit: number): Row[] {
    return this.store.withShard(this.website, month, (shard) =>
      shard.all<Row>(this.page.sql, this.range.start ?? 0, this.range.end ?? MAX_TIME, after.time, after.rowid, limit, ...this.page.params),
    );
  }
}

interface Format {
  head: string;
  /** `first`: no row has been written yet (JSON needs no comma before it). */
  rows(rows: Row[], first: boolean): string;
  tail(next: string | undefined): string;
}

const FORMATS: Record<ExportFormat, Format> = {
  json: {
    head: '{"list":[',
    rows: (rows, first) => (rows.length === 0 ? "" : (first ? "" : ",") + rows.map((row) => row.line).join(",")),
    tail: (next) => (next ? `],"next":${JSON.stringify(next)}}` : "]}"),
  },
  ndjson: {
    head: "",
    rows: (rows) => rows.map((row) => row.line + "\n").join(""),
    tail: () => "",
  },
  csv: {
    head: ["time", ...TEXT_COLUMNS].join(",") + "\r\n",
    rows: (rows) => rows.map((row) => row.line + "\r\n").join(""),
    tail: () => "",
  },
};

/** Cursors are opaque to clients: base64url of `month.time.rowid`. */
export function encodeCursor({ month, time, rowid }: Position): string {
  return Buffer.from(`${month}.${time}.${rowid}`).toString("base64url");
}

export function decodeCursor(cursor: string): Position {
  const match = /^(\d{4}-\d{2})\.(-?\d{1,15})\.(-?\d{1,19})$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!match) throw new AppError("InvalidParameter", "cursor: not a cursor this service gave; pass the `next` of the previous page as it was.");
  return { month: match[1]!, time: Number(match[2]), rowid: Number(match[3]) };
}
