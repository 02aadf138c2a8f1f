/**
 * `check` and `backup` on shards that a writer killed mid-transaction left
 * behind: a hot rollback journal (the original service's shards, in the
 * original's journal mode) or a WAL with committed and uncommitted frames
 * (ours). Such a shard only needs the recovery SQLite does when it opens it
 * for writing, as the service does: it is not damaged.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "../helpers/files";
import { request, runCli, startServer, tempDir } from "../helpers/server";
import { TEST_MS, waitFor } from "../helpers/wait";

setDefaultTimeout(TEST_MS);

const scratch = tempDir("ma-recovery-");
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const COMMITTED = 1000;

/** A writer that commits COMMITTED rows, then starts a large transaction and waits to be killed. */
const WRITER = join(scratch, "writer.ts");
writeFileSync(
  WRITER,
  `
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
const [path, mode] = process.argv.slice(2);
mkdirSync(dirname(path), { recursive: true });
const db = new Database(path, { create: true });
db.run(mode === "wal" ? "PRAGMA journal_mode = WAL" : "PRAGMA journal_mode = DELETE");
// Commits stay in the WAL (no checkpoint), and a large transaction spills to the journal or WAL before it commits.
db.run("PRAGMA wal_autocheckpoint = 0");
db.run("PRAGMA cache_size = 10");
db.run("CREATE TABLE visits (time INTEGER, event TEXT, path TEXT, ip TEXT, platform TEXT, refererDomain TEXT, countryCode TEXT)");
const insert = db.prepare("INSERT INTO visits VALUES (?, 'view', ?, '10.0.0.1', '', '', '')");
db.transaction(() => { for (let i = 0; i < ${COMMITTED}; i++) insert.run(1448370000 + i, "/committed/" + "x".repeat(100)); })();
db.run("BEGIN");
for (let i = 0; i < 5000; i++) insert.run(1448370000 + i, "/never-committed/" + "y".repeat(200));
console.log("in the middle of a transaction");
setInterval(() => {}, 1000);
`,
);

type Mode = "rollback" | "wal";

/** A shard under `root` as a writer killed with SIGKILL mid-transaction leaves it. */
async function killedWriterShard(root: string, website: string, mode: Mode): Promise<string> {
  const path = join(root, website, "2015-11", "analytics.db");
  const writer = Bun.spawn([process.execPath, WRITER, path, mode], { stdout: "pipe", stderr: "inherit" });
  const reader = writer.stdout.getReader();
  const { value } = await reader.read();
  expect(new TextDecoder().decode(value)).toContain("in the middle of a transaction");
  writer.kill("SIGKILL");
  await writer.exited;
  // What makes it a shard to recover, not a closed one.
  expect(existsSync(`${path}${mode === "wal" ? "-wal" : "-journal"}`)).toBe(true);
  return path;
}

/** The journal, WAL and shared-memory files beside the shards of a root. */
function journals(root: string): string[] {
  return readdirSync(root, { recursive: true })
    .map(String)
    .filter((name) => /\.db-(wal|shm|journal)$/.test(name));
}

describe.each(["rollback", "wal"] as Mode[])("a shard a killed writer left (%s journal), on a stopped root", (mode) => {
  test("check recovers it, says all is ok, exits 0, and leaves no -wal, -shm or -journal", async () => {
    const root = join(tempDir(`ma-check-${mode}-`), "dbs");
    const shard = await killedWriterShard(root, "crashed.example", mode);
    const result = await runCli(["check", "--root", root]);
    expect({ exit: result.exitCode, out: result.stdout, err: result.stderr }).toMatchObject({ exit: 0, err: "" });
    expect(result.stdout).not.toContain("DAMAGED");
    expect(result.stdout).toContain("checked 1 shards");
    expect(result.stdout).toContain("all ok");
    expect(journals(root)).toEqual([]);
    expect(inspect(shard, (db) => db.query("SELECT COUNT(*) AS n FROM visits").get())).toEqual({ n: COMMITTED });
    rmSync(join(root, ".."), { recursive: true, force: true });
  });

  test("backup copies every committed event of it, exits 0, and leaves no -wal, -shm or -journal", async () => {
    const root = join(tempDir(`ma-backup-${mode}-`), "dbs");
    await killedWriterShard(root, "crashed.example", mode);
    const destination = join(root, "..", "backup");
    const result = await runCli(["backup", destination, "--root", root]);
    expect({ exit: result.exitCode, err: result.stderr }).toEqual({ exit: 0, err: "" });
    expect(result.stdout).toContain("backed up 1 of 1 shards");
    expect(journals(root)).toEqual([]);
    expect(journals(destination)).toEqual([]);
    const copy = join(destination, "crashed.example", "2015-11", "analytics.db");
    const rows = inspect(copy, (db) => db.query("SELECT COUNT(*) AS n, SUM(path LIKE '/never%') AS lost FROM visits").get());
    expect(rows).toEqual({ n: COMMITTED, lost: 0 });
    rmSync(join(root, ".."), { recursive: true, force: true });
  });
});

test("on a clean stopped root, check and backup leave no -wal or -shm behind", async () => {
  const root = join(tempDir("ma-clean-"), "dbs");
  const server = await startServer({ root, args: ["--log-level", "warn"] });
  expect((await request(`${server.url}/clean.example`, { body: { time: "2015-11-24T13:00:00Z", path: "/" } })).status).toBe(200);
  await server.stop();
  expect(journals(root)).toEqual([]);
  expect((await runCli(["check", "--root", root])).exitCode).toBe(0);
  expect(journals(root)).toEqual([]);
  expect((await runCli(["backup", join(root, "..", "copy"), "--root", root])).exitCode).toBe(0);
  expect(journals(root)).toEqual([]);
  rmSync(join(root, ".."), { recursive: true, force: true });
});

test("while a service runs, a shard it has not opened yet that needs recovery is not called damaged", async () => {
  const server = await startServer({ args: ["--log-level", "warn"] });
  try {
    expect((await request(`${server.url}/live.example`, { body: { time: "2015-11-24T13:00:00Z", path: "/" } })).status).toBe(200);
    const shard = await killedWriterShard(server.root, "crashed.example", "rollback");

    const checked = await runCli(["check", "--root", server.root]);
    expect(checked.stdout).not.toContain("DAMAGED");
    expect(checked.stdout).toContain(`NEEDS RECOVERY ${shard}`);
    expect(checked.exitCode).toBe(0);

    const backedUp = await runCli(["backup", join(server.root, "..", "copy"), "--root", server.root]);
    expect(backedUp.stderr).toContain("crashed.example/2015-11");
    expect(backedUp.stderr).toContain("needs recovery");
    expect(backedUp.stdout).toContain("backed up 1 of 2 shards");
    expect(backedUp.exitCode).toBe(1);

    // The service recovers it when it opens it; then both commands see it whole.
    expect((await request(`${server.url}/crashed.example/count`)).body).toEqual({ total: COMMITTED, unique: 1 });
    await waitFor("the rollback journal to go", () => !existsSync(`${shard}-journal`));
    const again = await runCli(["check", "--root", server.root]);
    expect({ exit: again.exitCode, out: again.stdout }).toMatchObject({ exit: 0 });
    expect(again.stdout).toContain("checked 2 shards");
    expect(again.stdout).toContain("all ok");
  } finally {
    await server.stop();
  }
});
