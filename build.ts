/**
 * Compiles the service into one self-contained executable, the GeoIP database
 * embedded: `bun run build [--target bun-linux-arm64] [--outfile PATH]`.
 */
import { parseArgs } from "node:util";
import { version } from "./package.json";
import { dashboardDefine } from "./src/dashboard/bundle";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    target: { type: "string" },
    outfile: { type: "string", default: "dist/micro-analytics" },
  },
});

const result = await Bun.build({
  // Worker entry points are bundled beside the main one (see Bun's executables guide).
  entrypoints: ["src/main.ts", "src/store/checkpoint-worker.ts", "src/modules/query/worker.ts"],
  // Elysia reads its handlers' source to learn which parts of a request they use;
  // renamed identifiers hide that (a plugin then sees no query), so names stay.
  minify: { whitespace: true, syntax: true, identifiers: false },
  // Bytecode halves start-up; with top-level await it needs ESM.
  bytecode: true,
  format: "esm",
  sourcemap: "none",
  define: { "process.env.NODE_ENV": JSON.stringify("production"), ...(await dashboardDefine()) },
  compile: {
    ...(values.target ? { target: values.target as Bun.Build.CompileTarget } : {}),
    outfile: values.outfile,
    // The binary's behaviour comes from its flags and environment only, not
    // from a .env or bunfig.toml that happens to lie in the working directory.
    autoloadDotenv: false,
    autoloadBunfig: false,
  },
});

if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
const size = Bun.file(values.outfile).size;
console.log(`built ${values.outfile} (micro-analytics ${version}, ${(size / 1024 / 1024).toFixed(1)} MiB)`);
