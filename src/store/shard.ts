import { Database, type Statement } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { countEventIds, prepareIdInsert } from "./event-ids";
import { applySchema, type SyncMode } from "./schema";
import type { NewVisit } from "./visit";

const COLUMNS = "INSERT INTO visits (time, event, path, ip, platform, refererDomain, countryCode) VALUES ";
const ROW = "(?, ?, ?, ?, ?, ?, ?)";
const WIDTH = 7;
/** Rows per multi-row INSERT: each statement call crosses into native code once, not fifty times. */
const CHUNK = 50;

/** One open month file of one website. */
export class Shard {
  private readonly insertOne: Statement;
  private readonly insertChunk: Statement;
  private readonly params: (string | number)[] = new Array(CHUNK * WIDTH);
  private readonly insertAll: (parts: NewVisit[][]) => number[];
  /** Made on the first event that comes with an id (see event-ids.ts). */
  private insertId: Statement<unknown, [string]> | undefined;

  private constructor(
    readonly path: string,
    private readonly db: Database,
  ) {
    this.insertOne = db.prepare(COLUMNS + ROW);
    this.insertChunk = db.prepare(COLUMNS + Array(CHUNK).fill(ROW).join(", "));
    this.insertAll = db.transaction((parts: NewVisit[][]) => {
      const params = this.params;
      const insertId = this.insertId;
      const duplicates: number[] = [];
      let pending = 0;
      for (const visits of parts) {
        let seen = 0;
        for (const v of visits) {
          if (v.id !== undefined && insertId!.run(v.id).changes === 0) {
            seen++;
            continue;
          }
          const at = pending * WIDTH;
          params[at] = v.time;
          params[at + 1] = v.event;
          params[at + 2] = v.path;
          params[at + 3] = v.ip;
          params[at + 4] = v.platform;
          params[at + 5] = v.refererDomain;
          params[at + 6] = v.countryCode;
          if (++pending === CHUNK) {
            this.insertChunk.run(...params);
            pending = 0;
          }
        }
        duplicates.push(seen);
      }
      for (let row = 0; row < pending; row++) this.insertOne.run(...params.slice(row * WIDTH, row * WIDTH + WIDTH));
      return duplicates;
    });
  }

  /** Opens an existing shard, or creates it (and its directory) when `create` is set. */
  static open(path: string, create: boolean, sync: SyncMode): Shard {
    if (create) mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path, { create, readwrite: true, strict: true });
    try {
      applySchema(db, sync);
      return new Shard(path, db);
    } catch (error) {
      db.close(true);
      throw error;
    }
  }

  /**
   * Appends in one transaction: every row of every part is committed, or
   * none. An event whose id this shard holds already (from an earlier part,
   * or one before it in the same part) is left out; answers how many were,
   * for each part.
   */
  insert(parts: NewVisit[][]): number[] {
    // Outside the transaction: a statement must not outlive a table rolled back with it.
    if (this.insertId === undefined && parts.some((visits) => visits.some((v) => v.id !== undefined))) this.insertId = prepareIdInsert(this.db);
    return this.insertAll(parts);
  }

  /** The highest rowid: it grows with every insert (see shardVersion). */
  maxRowid(): number {
    return this.db.query<{ v: number }, []>("SELECT IFNULL(max(rowid), 0) AS v FROM visits").get()!.v;
  }

  /** How many events and event ids the shard holds. */
  counts(): { events: number; ids: number } {
    const events = this.db.query<{ n: number }, []>("SELECT count(*) AS n FROM visits").get()!.n;
    return { events, ids: countEventIds(this.db) };
  }

  /** How many times rows were rewritten in place (`user_version`, which migrate-platforms counts up). */
  rewrites(): number {
    return this.db.query<{ user_version: number }, []>("PRAGMA user_version").get()!.user_version;
  }

  /** Runs a read query; statements are cached per handle by bun:sqlite. */
  all<Row>(sql: string, ...params: (string | number)[]): Row[] {
    return this.db.query<Row, (string | number)[]>(sql).all(...params);
  }

  /**
   * Finalizes every statement and releases the file now: with `false`, a
   * statement still alive (a transaction's own, a cached query) would keep
   * the connection, and its file descriptors, open until collected.
   */
  close(): void {
    this.db.close(true);
  }
}
