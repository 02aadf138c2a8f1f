/**
 * bun run bench:anonymize — `anonymize` and `erase` over the query
 * benchmark's year (12 months of 1,000,000 events of one website, made by
 * `bun run bench:query`, which must have run once; BENCH_QUERY_DIR as
 * there), and before them `DELETE /:website/visitors/:ip` on the running
 * service, with requests timed while it runs. Works on a copy, deleted
 * after. Prints tables; asserts nothing.
 */
import { cpSync, existsSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverCommand, startServer, tempDir } from "../test/helpers/server";
import { peakRssMb } from "./lib";

const PER_MONTH = Number(process.env.BENCH_EVENTS_PER_MONTH ?? 1_000_000);
const source = join(process.env.BENCH_QUERY_DIR ?? join(tmpdir(), `micro-analytics-bench-query-${PER_MONTH}`), "dbs");
if (!existsSync(join(source, "..", "ready"))) {
  console.error(`bench:anonymize needs the query benchmark's data set in ${source}: run bun run bench:query once first.`);
  process.exit(1);
}
const EVENTS = PER_MONTH * 12;
const dir = tempDir("ma-bench-anonymize-");
const root = join(dir, "dbs");
console.log(`copying the data set to ${root} …`);
cpSync(source, root, { recursive: true });

async function run(args: string[]): Promise<{ seconds: number; rssMb: number; out: string }> {
  const started = performance.now();
  const proc = Bun.spawn([...serverCommand(), ...args, "--root", root], { stdout: "pipe", stderr: "pipe" });
  let rssMb = 0;
  const sampler = setInterval(() => {
    try {
      // A process that has exited but not been reaped has no VmHWM: NaN, which would stick.
      const mb = peakRssMb(proc.pid);
      if (!Number.isNaN(mb)) rssMb = Math.max(rssMb, mb);
    } catch {
      // Gone between two samples.
    }
  }, 100);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearInterval(sampler);
  if (code !== 0) throw new Error(`${args.join(" ")} exited ${code}:\n${out}${err}`);
  return { seconds: (performance.now() - started) / 1000, rssMb, out };
}

/**
 * Erases `address` through the service; when `busy`, meanwhile, in rounds, a
 * `GET /`, an event into the oldest month (the one holding the visitor) and
 * one into another website are sent and timed. Answers the erasure's time
 * and the longest wait of each kind of request.
 */
async function serviceErasure(address: string, busy: boolean) {
  const server = await startServer({ root, args: ["--log-level", "warn", "--cache-directory", join(dir, "cache")] });
  try {
    const oldest = readdirSync(join(root, "site.example")).sort()[0]!;
    const time = Date.parse(`${oldest}-01T01:00:00Z`) / 1000;
    let settled = false;
    const started = performance.now();
    // fetch itself, with no timeout: scanning the year takes longer than a test request may.
    const erasing = fetch(`${server.url}/site.example/visitors/${address}`, { method: "DELETE" }).finally(() => (settled = true));
    const longest = { home: 0, same: 0, other: 0 };
    let rounds = 0;
    // No timeout on these either: how long they wait is what is measured.
    const timed = async (kind: keyof typeof longest, path: string, body?: object) => {
      const sent = performance.now();
      const answer = await fetch(`${server.url}${path}`, body && { method: "POST", body: JSON.stringify(body) });
      if (answer.status !== 200) throw new Error(`${path}: ${answer.status} ${await answer.text()}`);
      await answer.arrayBuffer();
      longest[kind] = Math.max(longest[kind], performance.now() - sent);
    };
    while (busy && !settled) {
      const ip = `172.16.${(rounds >> 8) & 255}.${rounds & 255}`;
      await Promise.all([timed("home", "/"), timed("same", "/site.example", { time, ip }), timed("other", "/other.example", { time, ip })]);
      rounds++;
    }
    const { removed } = (await (await erasing).json()) as { removed: number };
    return { seconds: (performance.now() - started) / 1000, removed, longest, rounds };
  } finally {
    await server.stop();
  }
}

try {
  // A visitor with some hundreds of events, and the busiest of the oldest month (27,000 of its events).
  const alone = await serviceErasure("10.0.1.4", false);
  const typical = await serviceErasure("10.0.1.3", true);
  const busiest = await serviceErasure("10.0.0.0", true);
  const dry = await run(["anonymize", "--dry-run"]);
  const real = await run(["anonymize"]);
  const again = await run(["anonymize"]);
  const erase = await run(["erase", "10.0.1.2"]);
  const row = (name: string, r: { seconds: number; rssMb: number }) =>
    `| ${name} | ${r.seconds.toFixed(1)} | ${Math.round(EVENTS / r.seconds).toLocaleString("en")} | ${r.rssMb.toFixed(0)} |`;
  console.log(`\nover ${EVENTS.toLocaleString("en")} events in 12 shards (${navigator.hardwareConcurrency} cores)\n`);
  console.log("| command | seconds | events/s | peak RSS MB |");
  console.log("|---|---:|---:|---:|");
  console.log(row("anonymize --dry-run", dry));
  console.log(row("anonymize (every address rewritten, then VACUUM)", real));
  console.log(row("anonymize again (nothing left to rewrite)", again));
  console.log(row("erase ADDRESS (every month scanned)", erase));
  console.log(`\n${real.out.trim().split("\n").at(-1)}\n${erase.out.trim().split("\n").at(-1)}`);
  console.log("\nDELETE /site.example/visitors/ADDRESS on the running service, every month scanned, requests sent meanwhile\n");
  console.log("| visitor | events removed | seconds | events/s scanned | requests answered meanwhile | longest wait ms: GET / | POST, same month | POST, another website |");
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
  const rows = [
    ["some hundreds of events, nothing else asked", alone],
    ["some hundreds of events", typical],
    ["the oldest month's busiest", busiest],
  ] as const;
  for (const [name, r] of rows) {
    const meanwhile = r.rounds === 0 ? "" : (r.rounds * 3).toLocaleString("en");
    const waits = [r.longest.home, r.longest.same, r.longest.other].map((ms) => (r.rounds === 0 ? "" : ms.toFixed(0)));
    console.log(`| ${name} | ${r.removed.toLocaleString("en")} | ${r.seconds.toFixed(1)} | ${Math.round(EVENTS / r.seconds).toLocaleString("en")} | ${meanwhile} | ${waits.join(" | ")} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
