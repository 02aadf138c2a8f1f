/**
 * Compiles the service into one self-contained executable, the GeoIP database
 * and the third-party notices embedded, and writes the notices beside it:
 * `bun run build [--target bun-linux-arm64] [--outfile PATH]`.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { BUNDLE } from "./src/bundle";
import { bundledPackages, packagesOf, thirdPartyNotices, withDashboard } from "./src/commands/third-party-notices";
import { version } from "./package.json";
import { dashboardDefine } from "./src/dashboard/bundle";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    target: { type: "string" },
    outfile: { type: "string", default: "dist/micro-analytics" },
  },
});

// The notices name what the bundle contains, so a first bundle (in memory) finds that out.
const packages = await bundledPackages();
const notices = thirdPartyNotices(packages);

const result = await Bun.build({
  ...BUNDLE,
  // Bytecode halves start-up.
  bytecode: true,
  sourcemap: "none",
  metafile: true,
  define: { ...BUNDLE.define, EMBEDDED_THIRD_PARTY_NOTICES: JSON.stringify(notices), ...(await dashboardDefine()) },
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
const named = packages.map((p) => p.key).join(" ");
const contained = (await withDashboard(packagesOf(result.metafile!))).map((p) => p.key).join(" ");
if (contained !== named) {
  console.error(`the binary contains the packages\n  ${contained}\nbut the notices name\n  ${named}`);
  process.exit(1);
}
const noticesFile = join(dirname(values.outfile), "THIRD-PARTY-NOTICES.txt");
writeFileSync(noticesFile, notices);

const size = Bun.file(values.outfile).size;
console.log(`built ${values.outfile} (micro-analytics ${version}, ${(size / 1024 / 1024).toFixed(1)} MiB) and ${noticesFile} (${packages.length} packages)`);
