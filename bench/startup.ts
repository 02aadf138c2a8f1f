/**
 * bun run bench:startup — time from spawning the service to its first
 * answered request, for the sources and (if built) the compiled binary.
 */
import { existsSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { tempDir } from "../test/helpers/server";

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const PORT = 17_000 + Math.floor(Math.random() * 1000);

async function firstAnswerMs(command: string[]): Promise<number> {
  const dir = tempDir("ma-startup-");
  const t0 = performance.now();
  const proc = Bun.spawn([...command, "--host", "127.0.0.1", "--port", String(PORT), "--root", join(dir, "dbs")], {
    cwd: dir,
    stdout: "ignore",
    stderr: "ignore",
  });
  try {
    for (;;) {
      try {
        const response = await fetch(`http://127.0.0.1:${PORT}/`);
        if (response.ok) return performance.now() - t0;
      } catch {
        // Not listening yet.
      }
      if (performance.now() - t0 > 10_000) throw new Error(`${command.join(" ")} did not answer within 10 s`);
      await Bun.sleep(1);
    }
  } finally {
    proc.kill();
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

const binary = resolve(import.meta.dir, "../dist/micro-analytics");
const variants: [string, string[]][] = [["sources (bun src/main.ts)", [process.execPath, resolve(import.meta.dir, "../src/main.ts")]]];
if (existsSync(binary)) variants.push([`binary (${(Bun.file(binary).size / 1024 / 1024).toFixed(1)} MiB)`, [binary]]);
else console.log("dist/micro-analytics not built; run bun run build to measure it too");

console.log(`| start-up to first answer, ${RUNS} runs | median ms | min ms | max ms |`);
console.log("|---|---:|---:|---:|");
for (const [name, command] of variants) {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await firstAnswerMs(command));
  times.sort((a, b) => a - b);
  console.log(`| ${name} | ${times[Math.floor(times.length / 2)]!.toFixed(0)} | ${times[0]!.toFixed(0)} | ${times.at(-1)!.toFixed(0)} |`);
}
