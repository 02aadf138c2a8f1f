import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { BUNDLE, PROJECT_DIR } from "../bundle";
import { DASHBOARD_BUNDLE } from "../dashboard/bundle";

/**
 * Makes the third-party notices: what the binary contains that others wrote,
 * each with its version and licence, and the licence texts they ask to travel
 * with it. Runs from source only (it reads bun.lock and node_modules): build.ts
 * embeds its result in the binary, `--licenses` from source prints it afresh.
 */

/** A package's own notice files: LICENSE, LICENCE.md, license.txt, LICENSE-MIT, COPYING, NOTICE, NRO_LICENSE… */
const NOTICE_FILE = /^(?:\w+_)?(?:licen[cs]e|copying|notice)(?:[-.][\w.-]+)?$/i;
/** …but not code that happens to be named so (license.js). */
const CODE_FILE = /\.(?:[cm]?[jt]s|json)$/i;

/** Licence texts from spdx-license-list for what the Bun runtime links but does not ship the text of. */
const RUNTIME_LICENCE_TEXTS = ["MIT", "LGPL-2.0-only", "LGPL-2.1-only", "Apache-2.0"];

/** Terms that data (not code) in a package carries beyond its package licence, in our words. */
const DATA_ATTRIBUTIONS: Record<string, string> = {
  "@ip-location-db/geo-whois-asn-country-mmdb": [
    "The embedded GeoIP database (geo-whois-asn-country.mmdb, used unchanged) maps",
    "address ranges to countries. Its data come from the statistics of the Number",
    "Resource Organization, copyright NRO, https://www.nro.net/, licensed under the",
    "Creative Commons Attribution 4.0 International licence,",
    "https://creativecommons.org/licenses/by/4.0/. The compilation itself is by",
    "sapics (ip-location-db), under CC0-1.0.",
  ].join("\n"),
};

/** An npm package whose files end up in the bundle. */
export interface BundledPackage {
  /** Its key in bun.lock: `elysia`, or `maxmind/tiny-lru` for a copy nested under maxmind. */
  key: string;
  /** Its directory, relative to the project's. */
  dir: string;
}

/** The npm packages a bundle's inputs come from. */
export function packagesOf(metafile: Bun.BuildMetafile, projectDir = PROJECT_DIR, cwd = process.cwd()): BundledPackage[] {
  const found = new Map<string, BundledPackage>();
  for (const input of Object.keys(metafile.inputs)) {
    const path = relative(projectDir, resolve(cwd, input));
    const dir = /^(?:node_modules\/(?:@[^/]+\/)?[^/]+\/)+/.exec(path)?.[0].replace(/\/$/, "");
    if (dir) found.set(dir, { key: dir.split(/\/?node_modules\//).filter(Boolean).join("/"), dir });
  }
  return [...found.values()].sort((a, b) => a.key.localeCompare(b.key));
}

/** Bundles the service as build.ts does, in memory, and names the packages that end up in it, the dashboard's included. */
export async function bundledPackages(): Promise<BundledPackage[]> {
  const result = await Bun.build({ ...BUNDLE, metafile: true });
  if (!result.success || !result.metafile) throw new Error(`bundling failed: ${result.logs.join("\n")}`);
  return withDashboard(packagesOf(result.metafile));
}

/**
 * The dashboard's page is bundled apart (src/dashboard/bundle.ts) and
 * embedded as text, so its packages (uPlot) are in the binary too without
 * being inputs of the service's bundle.
 */
export async function withDashboard(service: BundledPackage[]): Promise<BundledPackage[]> {
  const result = await Bun.build({ ...DASHBOARD_BUNDLE, metafile: true });
  if (!result.success || !result.metafile) throw new Error(`bundling the dashboard failed: ${result.logs.join("\n")}`);
  const all = new Map([...service, ...packagesOf(result.metafile)].map((p) => [p.key, p]));
  return [...all.values()].sort((a, b) => a.key.localeCompare(b.key));
}

interface PackageNotice {
  name: string;
  version: string;
  licence: string;
  source: string | undefined;
  files: { name: string; text: string }[];
}

interface Manifest {
  version: string;
  license?: string | { type: string };
  repository?: string | { url?: string };
  homepage?: string;
}

interface Lockfile {
  packages: Record<string, [string, ...unknown[]]>;
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

/** Where the package's source is, as a link a person can follow. */
function sourceOf(manifest: Manifest): string | undefined {
  const repository = typeof manifest.repository === "string" ? manifest.repository : manifest.repository?.url;
  const url = manifest.homepage ?? repository;
  if (!url) return undefined;
  const plain = url.replace(/^git\+/, "").replace(/^git:\/\//, "https://").replace(/\.git$/, "");
  return /^[\w.-]+\/[\w.-]+$/.test(plain) ? `https://github.com/${plain}` : plain;
}

function packageNotice({ key, dir: relativeDir }: BundledPackage, lock: Lockfile, projectDir: string): PackageNotice {
  const entry = lock.packages[key];
  if (!entry) throw new Error(`${key} is in the bundle but not in bun.lock`);
  const locked = entry[0];
  const at = locked.lastIndexOf("@");
  const name = locked.slice(0, at);
  const version = locked.slice(at + 1);
  const dir = join(projectDir, relativeDir);
  const manifest = readJson<Manifest>(join(dir, "package.json"));
  if (manifest.version !== version) {
    throw new Error(`${name}: bun.lock says ${version}, node_modules holds ${manifest.version}; run bun install --frozen-lockfile`);
  }
  const files = readdirSync(dir)
    .filter((file) => NOTICE_FILE.test(file) && !CODE_FILE.test(file))
    .sort()
    .map((file) => ({ name: file, text: readFileSync(join(dir, file), "utf8").trim() }));
  if (files.length === 0) throw new Error(`${name} ${version} ships no licence file; its notice must be written by hand before it can be bundled`);
  const licence = typeof manifest.license === "string" ? manifest.license : (manifest.license?.type ?? "see its licence file");
  return { name, version, licence, source: sourceOf(manifest), files };
}

/** The table of contents: one line a component, its licence in a column. */
function contents(rows: (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([what]) => what.length)) + 2;
  return rows.map(([what, licence]) => `  ${what.padEnd(width)}${licence}`);
}

function rule(title: string): string {
  return `${"=".repeat(79)}\n${title}\n${"=".repeat(79)}`;
}

function runtimeNotes(projectDir: string): { version: string; text: string } {
  const typesDir = join(projectDir, "node_modules", "bun-types");
  const { version } = readJson<{ version: string }>(join(typesDir, "package.json"));
  const page = readFileSync(join(typesDir, "docs", "project", "license.mdx"), "utf8");
  // The page's front matter is for Bun's website, not for a reader of this file.
  return { version, text: page.replace(/^---\n[\s\S]*?\n---\n/, "").trim() };
}

function spdxText(id: string, projectDir: string): string {
  const path = join(projectDir, "node_modules", "spdx-license-list", "licenses", `${id}.json`);
  if (!existsSync(path)) throw new Error(`no text for ${id} in spdx-license-list; run bun install`);
  return readJson<{ licenseText: string }>(path).licenseText.trim();
}

/** The whole notices text for the given packages (see bundledPackages). Deterministic: the same inputs give the same bytes. */
export function thirdPartyNotices(packages: BundledPackage[], projectDir = PROJECT_DIR): string {
  const project = readJson<{ name: string; version: string; license: string }>(join(projectDir, "package.json"));
  const lock = Bun.JSONC.parse(readFileSync(join(projectDir, "bun.lock"), "utf8")) as Lockfile;
  const notices = packages.map((bundled) => packageNotice(bundled, lock, projectDir)).sort((a, b) => a.name.localeCompare(b.name));
  const runtime = runtimeNotes(projectDir);
  const runtimeVersion = Bun.version;

  const out: string[] = [
    `Third-party notices for ${project.name} ${project.version}`,
    "",
    `The program's own code is under the ${project.license} licence (below). The binary`,
    "also contains the Bun runtime and the npm packages listed here, each under its",
    "own licence, and the data of the embedded GeoIP database. This file is made by",
    "build.ts from bun.lock and the packages themselves; `micro-analytics --licenses`",
    "prints it.",
    "",
    ...contents([[`Bun runtime ${runtimeVersion}`, "MIT, with LGPL and other parts: see (1)"], ...notices.map((p) => [`${p.name} ${p.version}`, p.licence] as const)]),
    "",
    rule(`${project.name} ${project.version} (${project.license})`),
    "",
    readFileSync(join(projectDir, "LICENSE"), "utf8").trim(),
    "",
    rule(`(1) Bun runtime ${runtimeVersion} (https://bun.com)`),
    "",
    "The binary is the Bun runtime with this program's bundled JavaScript appended",
    "(`bun build --compile`). The runtime links JavaScriptCore and parts of WebKit,",
    "which are under the GNU Lesser/Library General Public License (texts at the",
    "end of this file). To relink with a modified JavaScriptCore: build Bun with",
    "your WebKit as Bun's notes below describe, then run `bun run build` from this",
    "program's source with that `bun`; `bun build --compile` puts the `bun` that",
    "runs it into the binary it writes.",
    "",
    `Bun's own licence notes, as published with bun-types ${runtime.version}:`,
    ...(runtime.version === runtimeVersion ? [] : [`(the runtime in this binary is ${runtimeVersion}; its notes may differ a little)`]),
    "",
    runtime.text,
  ];
  for (const p of notices) {
    out.push("", rule(`${p.name} ${p.version} (${p.licence})${p.source ? `\n${p.source}` : ""}`));
    const attribution = DATA_ATTRIBUTIONS[p.name];
    if (attribution) out.push("", attribution);
    for (const file of p.files) out.push("", `--- ${file.name} ---`, "", file.text);
  }
  for (const id of RUNTIME_LICENCE_TEXTS) {
    out.push("", rule(`Licence text: ${id} (for the Bun runtime's parts, see (1))`), "", spdxText(id, projectDir));
  }
  return out.join("\n") + "\n";
}
