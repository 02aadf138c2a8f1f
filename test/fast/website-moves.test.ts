import { afterAll, expect, spyOn, test } from "bun:test";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { backup } from "../../src/commands/backup";
import { WebsiteMoves } from "../../src/store/moves";
import { ShardPool } from "../../src/store/pool";
import { Store } from "../../src/store/store";
import type { NewVisit } from "../../src/store/visit";
import { inspect } from "../helpers/files";
import { tempDir } from "../helpers/server";

const dir = tempDir("ma-moves-");
const store = new Store(join(dir, "dbs"), new ShardPool({ maxOpen: 10, idleMs: 60_000, sync: "normal" }));
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const visit = (id?: string): NewVisit => ({ time: 1448370000, event: "view", path: "/", ip: "", platform: "", refererDomain: "", countryCode: "", ...(id ? { id } : {}) });
const rows = (website: string) => inspect(join(store.root, website, "2015-11", "analytics.db"), (db) => db.query<{ n: number }, []>("SELECT count(*) AS n FROM visits").get()!.n);

test("a hold settles only once the writes admitted before it have committed, and refuses those after it", async () => {
  // Admitted now; committed on a later turn of the event loop (group commit).
  const writing = store.append([["held.example", [visit(), visit()]]]);
  const storedWhenHeld = store.moves.hold("held.example").then(() => rows("held.example"));
  await expect(store.append([["held.example", [visit()]]])).rejects.toMatchObject({ code: "WebsiteMoving", headers: { "Retry-After": "1" } });
  await writing;
  expect(await storedWhenHeld).toBe(2);
  store.moves.release("held.example");
  await store.append([["held.example", [visit()]]]);
  expect(rows("held.example")).toBe(3);
});

test("a write to several websites, one of them held, stores nothing", async () => {
  await store.append([["free.example", [visit()]]]);
  await store.moves.hold("busy.example");
  await expect(store.append([["free.example", [visit()]], ["busy.example", [visit()]]])).rejects.toMatchObject({ code: "WebsiteMoving" });
  store.moves.release("busy.example");
  expect(rows("free.example")).toBe(1);
  expect(existsSync(join(store.root, "busy.example"))).toBe(false);
});

test("a moved website is refused with 421 naming its new node, and the mark survives a restart", async () => {
  store.moves.markMoved("gone.example", "node-9");
  await expect(store.append([["gone.example", [visit()]]])).rejects.toMatchObject({ code: "WebsiteMoved", status: 421 });
  const restarted = new WebsiteMoves(store.root);
  expect(restarted.movedTo("gone.example")).toBe("node-9");
  expect(restarted.list()).toEqual([{ website: "gone.example", to: "node-9" }]);
  store.moves.unmark("gone.example");
  expect(new WebsiteMoves(store.root).movedTo("gone.example")).toBeUndefined();
  await store.append([["gone.example", [visit()]]]);
});

test("a mark half written by a crash (its temporary file) is not taken for a move", () => {
  writeFileSync(join(store.root, ".moved", ".half.example.tmp"), "node-1");
  expect(new WebsiteMoves(store.root).list()).toEqual([]);
  expect(readdirSync(join(store.root, ".moved"))).toEqual([".half.example.tmp"]);
});

test("a backup keeps the marks of websites given away, so a restored node still refuses them", async () => {
  store.moves.markMoved("given.example", "node-3");
  await store.append([["kept.example", [visit()]]]);
  const destination = join(dir, "backup");
  const quiet = spyOn(console, "log").mockImplementation(() => {});
  try {
    expect(backup(store.root, destination)).toBe(0);
  } finally {
    quiet.mockRestore();
  }
  expect(new WebsiteMoves(destination).movedTo("given.example")).toBe("node-3");
  expect(existsSync(join(destination, "kept.example", "2015-11", "analytics.db"))).toBe(true);
});
