/**
 * The bare baseline of bench/ingest.ts: the smallest Elysia server that parses
 * the same JSON body and inserts one row per request into a WAL SQLite file.
 */
import { Database } from "bun:sqlite";
import { Elysia } from "elysia";

const [path, port] = [process.argv[2]!, Number(process.argv[3] ?? 0)];
const db = new Database(path, { create: true, strict: true });
db.run("PRAGMA journal_mode = WAL");
db.run("PRAGMA synchronous = NORMAL");
db.run("CREATE TABLE IF NOT EXISTS visits (time INTEGER, event TEXT, path TEXT, ip TEXT, platform TEXT, refererDomain TEXT, countryCode TEXT)");
const insert = db.prepare("INSERT INTO visits (time, event, path, ip) VALUES (?, ?, ?, ?)");

const app = new Elysia()
  .post("/:website", ({ body }) => {
    const event = body as { event: string; path: string; ip: string };
    insert.run(Math.floor(Date.now() / 1000), event.event, event.path, event.ip);
    return { inserted: 1 };
  })
  .listen({ hostname: "127.0.0.1", port, reusePort: false });

console.log(`baseline listening on ${app.server!.url.href}`);
