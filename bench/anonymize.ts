/**
 * bun run bench:anonymize — `anonymize` and `erase` over the query
 * benchmark's year (12 months of 1,000,000 events of one website, made by
 * `bun run bench:query`, which must have run once; BENCH_QUERY_DIR as
 * there). Works on a copy, deleted after. Prints a table; asserts nothing.
 */
import { cpSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverCommand, tempDir } from "../test/helpers/server";
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
      rssMb = Math.max(rssMb, peakRssMb(proc.pid));
    } catch {
      // Gone between two samples.
    }
  }, 100);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearInterval(sampler);
  if (code !== 0) throw new Error(`${args.join(" ")} exited ${code}:\n${out}${err}`);
  return { seconds: (performance.now() - started) / 1000, rssMb, out };
}

try {
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
  console.log(row("anonymize again (nothing left to rewrite; VACUUM only)", again));
  console.log(row("erase ADDRESS (every month scanned)", erase));
  console.log(`\n${real.out.trim().split("\n").at(-1)}\n${erase.out.trim().split("\n").at(-1)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
