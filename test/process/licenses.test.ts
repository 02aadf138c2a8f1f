/**
 * `micro-analytics --licenses` (issue 10): a notice for every npm package the
 * binary contains (the runtime dependencies and what they pull in), with its
 * version from bun.lock and its own licence text, and for the Bun runtime and
 * the GeoIP data. What the binary contains is found here independently: by
 * bundling with build.ts's settings and reading the bundler's list of inputs.
 * Runs the sources, or the compiled binary with MA_TEST_SERVER.
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BUNDLE, PROJECT_DIR } from "../../src/bundle";
import { DASHBOARD_BUNDLE } from "../../src/dashboard/bundle";
import { runCli } from "../helpers/server";
import { TEST_MS } from "../helpers/wait";

setDefaultTimeout(TEST_MS);

const SLOW = 30_000;

interface Locked {
  version: string;
  requires: string[];
}

/** bun.lock's packages by name: the version, and the names it needs at run time (dependencies and required peers). */
function readLock(): Map<string, Locked> {
  const lock = Bun.JSONC.parse(readFileSync(join(PROJECT_DIR, "bun.lock"), "utf8")) as {
    packages: Record<string, [string, string, { dependencies?: object; peerDependencies?: object; optionalPeers?: string[] }]>;
  };
  const packages = new Map<string, Locked>();
  for (const [key, [resolved, , info]] of Object.entries(lock.packages)) {
    const optional = new Set(info.optionalPeers ?? []);
    const peers = Object.keys(info.peerDependencies ?? {}).filter((name) => !optional.has(name));
    packages.set(key, { version: resolved.slice(resolved.lastIndexOf("@") + 1), requires: [...Object.keys(info.dependencies ?? {}), ...peers] });
  }
  return packages;
}

function closure(roots: string[], lock: Map<string, Locked>): Set<string> {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name) || !lock.has(name)) return;
    seen.add(name);
    lock.get(name)!.requires.forEach(visit);
  };
  roots.forEach(visit);
  return seen;
}

/** The package names whose files the bundles hold (the service's and the dashboard page's), from the bundler's own list of inputs. */
async function bundleContents(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const config of [BUNDLE, DASHBOARD_BUNDLE]) {
    const result = await Bun.build({ ...config, metafile: true });
    expect(result.success).toBe(true);
    for (const input of Object.keys(result.metafile!.inputs)) {
      const name = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(input)?.[1];
      if (name) names.add(name);
    }
  }
  return names;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const manifest = JSON.parse(readFileSync(join(PROJECT_DIR, "package.json"), "utf8")) as { dependencies: Record<string, string> };
const lock = readLock();
const runtime = closure(Object.keys(manifest.dependencies), lock);
let bundled: Set<string>;
let output: string;

beforeAll(async () => {
  bundled = await bundleContents();
  const run = await runCli(["--licenses"], {}, SLOW);
  expect(run.stderr).toBe("");
  expect(run.exitCode).toBe(0);
  output = run.stdout;
}, SLOW);

/** The heading of a package's notice: `name version (licence)` on a line of its own. */
function heading(name: string): RegExpExecArray | null {
  return new RegExp(`^${escape(name)} (\\S+) \\((.+)\\)$`, "m").exec(output);
}

describe("--licenses", () => {
  test("a notice, with the version bun.lock pins, for every runtime dependency and what it pulls into the bundle", () => {
    const expected = [...runtime].filter((name) => bundled.has(name));
    for (const name of Object.keys(manifest.dependencies)) expect(expected).toContain(name);
    for (const name of ["elysia", "maxmind", "ua-parser-js", "i18n-iso-countries", "ieee754", "tiny-lru", "mmdb-lib"]) expect(expected).toContain(name);
    for (const name of expected) {
      const found = heading(name);
      expect(found, `no notice for ${name}`).not.toBeNull();
      expect(found![1]).toBe(lock.get(name)!.version);
      const { license } = JSON.parse(readFileSync(join(PROJECT_DIR, "node_modules", name, "package.json"), "utf8"));
      expect(found![2]).toBe(license);
    }
  });

  test("each package's own licence files, word for word (BSD-3-Clause asks for that in binary form)", () => {
    for (const name of ["ieee754", "tiny-lru", "elysia", "ua-parser-js"]) {
      const dir = join(PROJECT_DIR, "node_modules", name);
      const files = readdirSync(dir).filter((file) => /licen[cs]e/i.test(file));
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) expect(output).toContain(readFileSync(join(dir, file), "utf8").trim());
    }
    expect(heading("ieee754")![2]).toBe("BSD-3-Clause");
    expect(heading("tiny-lru")![2]).toBe("BSD-3-Clause");
  });

  test("nothing the bundle does not contain: type-only and development packages get no notice", () => {
    for (const name of ["typescript", "bun-types", "@types/ua-parser-js", "openapi-types", "spdx-license-list"]) {
      expect(bundled.has(name)).toBe(false);
      expect(heading(name)).toBeNull();
    }
  });

  test("the Bun runtime, its LGPL parts with the licence text, and the GeoIP data's attribution", () => {
    expect(output).toContain(`Bun runtime ${Bun.version}`);
    expect(output).toContain("JavaScriptCore");
    expect(output).toContain("https://github.com/oven-sh/webkit");
    expect(output).toMatch(/GNU LESSER GENERAL PUBLIC LICENSE\s+Version 2\.1, February 1999/);
    expect(output).toMatch(/Apache License\s+Version 2\.0/);
    expect(output).toContain("https://www.nro.net/");
    expect(output).toContain("https://creativecommons.org/licenses/by/4.0/");
    expect(output).toContain(readFileSync(join(PROJECT_DIR, "LICENSE"), "utf8").trim());
  });

  test("--help lists it", async () => {
    const help = await runCli(["--help"]);
    expect(help.stdout).toMatch(/^\s+--licenses\s+\S/m);
  }, SLOW);
});
