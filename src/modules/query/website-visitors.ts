import type { MonthColumns, VisitorIps } from "../../store/month-columns";
import type { TransientShards } from "../../store/shard-source";

/**
 * Every visitor of one website, one id each across all its months.
 *
 * A month summary numbers its own visitors, so uniting the visitors of
 * several months needs their ids in one space. Reading a year's visitors
 * (600,000 ips for a busy website) and putting them in one space is most of
 * what a cold year-long unique count costs; kept here, it is done once per
 * process, and then only for the visitors a month gained since. Each month's
 * translation (its ids to this space's) is kept with the summary's
 * generation: a summary built again (its shard rewritten by an erasure, or
 * found changed) numbers its visitors anew, so its translation is made again
 * and the space is marked `stale`, to be dropped once the query that found
 * it is answered, with any ip no shard holds any more.
 *
 * The ips are kept as bytes in one array, looked up by an open-addressing
 * table over typed arrays (FNV-1a, then the bytes compared): about 30 bytes a
 * visitor, where a Map of strings took 90.
 */
export class WebsiteVisitors {
  private readonly table = new IpTable();
  private readonly months = new Map<string, { generation: string; ids: Uint32Array; bound: number }>();
  /** A month it read was built again, or is gone: it may hold ips that no shard holds now. */
  stale = false;

  /** How many visitors it holds: its ids are below this. */
  get size(): number {
    return this.table.size;
  }

  /** What it takes in memory, about. */
  get bytes(): number {
    let bytes = this.table.bytes;
    for (const { ids } of this.months.values()) bytes += ids.byteLength;
    return bytes;
  }

  /** The months it holds a translation of. */
  monthNames(): string[] {
    return [...this.months.keys()];
  }

  /**
   * The website id of each of a summary's visitor ids (an array indexed by
   * the month's id): made once for the summary's generation, then extended
   * by the visitors it has gained since.
   */
  ofSummary(month: string, generation: string, columns: MonthColumns): Uint32Array {
    let known = this.months.get(month);
    if (known && known.generation !== generation) {
      this.stale = true;
      known = undefined;
    }
    const bound = columns.idBound();
    if (known && known.bound >= bound) return known.ids;
    const from = known?.bound ?? 1;
    const ids = known && known.ids.length >= bound ? known.ids : grown(known?.ids, bound);
    this.take(columns.visitors(from), from, ids);
    this.months.set(month, { generation, ids, bound });
    return ids;
  }

  /** The same for a month read from its shard's rows: its ids are its own for this query only, so nothing is kept of them. */
  ofRows(columns: MonthColumns): Uint32Array {
    const ids = new Uint32Array(columns.idBound());
    this.take(columns.visitors(0), 0, ids);
    return ids;
  }

  private take({ bytes, starts }: VisitorIps, from: number, into: Uint32Array): void {
    for (let i = 0; i + 1 < starts.length; i++) into[from + i] = this.table.idOf(bytes, starts[i]!, starts[i + 1]! - 1);
  }
}

/** An array of at least `bound` ids, twice that where a month is still gaining visitors, holding `old`'s. */
function grown(old: Uint32Array | undefined, bound: number): Uint32Array {
  const ids = new Uint32Array(old ? Math.max(bound, old.length * 2) : bound);
  if (old) ids.set(old);
  return ids;
}

/** Distinct byte strings, each given the next id when first seen. */
class IpTable {
  size = 0;
  private text = new Uint8Array(1 << 12);
  private used = 0;
  /** Where each id's bytes end in `text`; they start where the previous id's end. */
  private ends = new Uint32Array(1 << 8);
  private hashes = new Uint32Array(1 << 8);
  /** Each slot holds an id, or -1; kept at most half full. */
  private slots = new Int32Array(1 << 9).fill(-1);

  get bytes(): number {
    return this.text.byteLength + this.ends.byteLength + this.hashes.byteLength + this.slots.byteLength;
  }

  idOf(bytes: Uint8Array, start: number, end: number): number {
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
    hash >>>= 0;
    const mask = this.slots.length - 1;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const id = this.slots[at]!;
      if (id === -1) {
        const added = this.add(bytes, start, end, hash);
        this.slots[at] = added;
        if (this.size * 2 > this.slots.length) this.rehash();
        return added;
      }
      if (this.hashes[id] === hash && this.equals(id, bytes, start, end)) return id;
    }
  }

  private equals(id: number, bytes: Uint8Array, start: number, end: number): boolean {
    const from = id === 0 ? 0 : this.ends[id - 1]!;
    if (this.ends[id]! - from !== end - start) return false;
    for (let i = 0; i < end - start; i++) if (this.text[from + i] !== bytes[start + i]) return false;
    return true;
  }

  private add(bytes: Uint8Array, start: number, end: number, hash: number): number {
    const id = this.size++;
    if (this.used + end - start > this.text.length) this.text = copied(this.text, Math.max(this.text.length * 2, this.used + end - start));
    if (id === this.ends.length) {
      this.ends = copied(this.ends, id * 2);
      this.hashes = copied(this.hashes, id * 2);
    }
    this.text.set(bytes.subarray(start, end), this.used);
    this.used += end - start;
    this.ends[id] = this.used;
    this.hashes[id] = hash;
    return id;
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2).fill(-1);
    const mask = this.slots.length - 1;
    for (let id = 0; id < this.size; id++) {
      let at = this.hashes[id]! & mask;
      while (this.slots[at] !== -1) at = (at + 1) & mask;
      this.slots[at] = id;
    }
  }
}

function copied<T extends Uint8Array | Uint32Array>(array: T, length: number): T {
  const bigger = new (array.constructor as new (length: number) => T)(length);
  bigger.set(array);
  return bigger;
}

/** What the query worker keeps of websites' visitors. */
export interface KeptVisitors {
  websites: number;
  visitors: number;
  bytes: number;
}

/** Websites with fewer visitor ids than this (over all their months) are not read after start: a query makes their space in milliseconds. */
const WARM_AT_LEAST = 20_000;

/**
 * The websites' visitors the query worker keeps between queries, at most
 * `budget` bytes of them: past it, the websites used longest ago are
 * dropped first (one bigger than the whole budget is used for its query,
 * then dropped).
 */
export class VisitorSpaces {
  private readonly spaces = new Map<string, WebsiteVisitors>();

  constructor(private readonly budget: number) {}

  /**
   * The website's space, to be used for one query, whose months are those the
   * website holds now: a space that holds a month no longer there (retention,
   * a month deleted) is dropped, with its ips, and made again.
   */
  of(website: string, months: readonly string[]): WebsiteVisitors {
    let space = this.spaces.get(website);
    if (space) {
      this.spaces.delete(website);
      const held = new Set(months);
      if (space.monthNames().some((month) => !held.has(month))) space = undefined;
    }
    space ??= new WebsiteVisitors();
    this.spaces.set(website, space);
    return space;
  }

  /** Called once a query is answered: drops a stale space, then the oldest until within the budget. */
  trim(): void {
    for (const [website, space] of this.spaces) if (space.stale) this.spaces.delete(website);
    let total = 0;
    for (const space of this.spaces.values()) total += space.bytes;
    for (const [website, space] of this.spaces) {
      if (total <= this.budget) break;
      this.spaces.delete(website);
      total -= space.bytes;
    }
  }

  /**
   * After start, the spaces of the websites with the most visitors (`visitors`,
   * from the summary builder), one month a task so queries are answered
   * between; a website of fewer than WARM_AT_LEAST ids costs a query little
   * and is left for its first. Stops when the budget is full. `done` hears
   * what is kept.
   */
  warm(shards: TransientShards, visitors: ReadonlyMap<string, number>, done: () => void): void {
    const queue = [...visitors].filter(([, ids]) => ids >= WARM_AT_LEAST).sort((a, b) => b[1] - a[1]);
    let website = "";
    /** The website's months, listed once: a query lists them again, and drops a space holding one gone since. */
    let all: string[] = [];
    let months: string[] = [];
    const step = () => {
      if (months.length === 0) {
        const next = queue.shift();
        if (!next || this.held().bytes >= this.budget) return done();
        [website] = next;
        all = shards.months(website, {});
        months = [...all];
        if (months.length === 0) return setTimeout(step, 0);
      }
      const month = months.shift()!;
      try {
        const space = this.of(website, all);
        shards.withSummary(website, month, (summary) => space.ofSummary(month, summary.generation, summary));
      } catch {
        // Gone, or unreadable: its queries say why.
      }
      this.trim();
      setTimeout(step, 0);
    };
    setTimeout(step, 0);
  }

  /** Drops what is kept of a website: deleted, or visitors erased from it. */
  forget(website: string): void {
    this.spaces.delete(website);
  }

  /** What is kept, for the metrics and the log. */
  held(): KeptVisitors {
    let visitors = 0;
    let bytes = 0;
    for (const space of this.spaces.values()) {
      visitors += space.size;
      bytes += space.bytes;
    }
    return { websites: this.spaces.size, visitors, bytes };
  }
}
