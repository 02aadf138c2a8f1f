/**
 * The notices generator on a small project of its own: what it reads from
 * bun.lock and node_modules, and the mismatches it refuses rather than ship
 * a binary whose notices are wrong.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_DIR } from "../../src/bundle";
import { packagesOf, thirdPartyNotices } from "../../src/commands/third-party-notices";
import { tempDir } from "../helpers/server";

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

interface FakePackage {
  dir: string;
  name: string;
  version: string;
  license: string;
  files?: Record<string, string>;
}

/** A project with the given packages installed, bun.lock naming `locked` versions (by lockfile key). */
function project(packages: FakePackage[], locked: Record<string, string>): string {
  const root = tempDir("ma-notices-");
  dirs.push(root);
  writeFileSync(join(root, "package.json"), JSON.stringify({ name: "demo", version: "1.2.3", license: "MIT" }));
  writeFileSync(join(root, "LICENSE"), "Demo's own licence.\n");
  const entries = Object.entries(locked).map(([key, version]) => `    "${key}": ["${key.split("/").slice(key.startsWith("@") ? -2 : -1).join("/")}@${version}", "", {}, "sha512-x"],`);
  writeFileSync(join(root, "bun.lock"), `{\n  "lockfileVersion": 1,\n  "workspaces": {},\n  "packages": {\n${entries.join("\n")}\n  },\n}\n`);
  mkdirSync(join(root, "node_modules"));
  // The runtime's notes and the licence texts come from the real packages.
  for (const real of ["bun-types", "spdx-license-list"]) symlinkSync(join(PROJECT_DIR, "node_modules", real), join(root, "node_modules", real));
  for (const p of packages) {
    mkdirSync(join(root, p.dir), { recursive: true });
    writeFileSync(join(root, p.dir, "package.json"), JSON.stringify({ name: p.name, version: p.version, license: p.license }));
    for (const [file, text] of Object.entries(p.files ?? {})) writeFileSync(join(root, p.dir, file), text);
  }
  return root;
}

describe("packagesOf", () => {
  test("names the packages of a bundle's inputs by lockfile key, nested and scoped ones too", () => {
    const inputs = Object.fromEntries(
      ["src/main.ts", "node_modules/a/index.js", "node_modules/a/lib/x.js", "node_modules/@s/b/dist/b.js", "node_modules/@s/b/node_modules/c/c.js", "node_modules/d/node_modules/@t/e/e.mjs"].map((path) => [path, { bytes: 1, imports: [] }]),
    );
    const found = packagesOf({ inputs, outputs: {} } as unknown as Bun.BuildMetafile, "/p", "/p");
    expect(found).toEqual([
      { key: "@s/b", dir: "node_modules/@s/b" },
      { key: "@s/b/c", dir: "node_modules/@s/b/node_modules/c" },
      { key: "a", dir: "node_modules/a" },
      { key: "d/@t/e", dir: "node_modules/d/node_modules/@t/e" },
    ]);
  });
});

describe("thirdPartyNotices", () => {
  const alpha: FakePackage = { dir: "node_modules/alpha", name: "alpha", version: "1.0.0", license: "BSD-3-Clause", files: { LICENSE: "Copyright Alpha.\nRedistribution and use in source and binary forms…\n" } };
  const nested: FakePackage = { dir: "node_modules/alpha/node_modules/beta", name: "beta", version: "2.0.0", license: "MIT", files: { "license.md": "Copyright Beta.\n", NOTICE: "Beta notice.\n" } };

  test("each package with its locked version, licence and every licence file; the same bytes each time", () => {
    const root = project([alpha, nested], { alpha: "1.0.0", "alpha/beta": "2.0.0" });
    const packages = [
      { key: "alpha", dir: alpha.dir },
      { key: "alpha/beta", dir: nested.dir },
    ];
    const text = thirdPartyNotices(packages, root);
    expect(text).toMatch(/^alpha 1\.0\.0 \(BSD-3-Clause\)$/m);
    expect(text).toMatch(/^beta 2\.0\.0 \(MIT\)$/m);
    for (const body of ["Copyright Alpha.", "Copyright Beta.", "Beta notice.", "Demo's own licence."]) expect(text).toContain(body);
    expect(text).toContain(`Bun runtime ${Bun.version}`);
    expect(thirdPartyNotices(packages, root)).toBe(text);
  });

  test("a package that ships no licence file stops the build, named", () => {
    const root = project([{ ...alpha, files: { "README.md": "no licence here" } }], { alpha: "1.0.0" });
    expect(() => thirdPartyNotices([{ key: "alpha", dir: alpha.dir }], root)).toThrow("alpha 1.0.0 ships no licence file");
  });

  test("node_modules that disagree with bun.lock stop the build", () => {
    const root = project([alpha], { alpha: "0.9.0" });
    expect(() => thirdPartyNotices([{ key: "alpha", dir: alpha.dir }], root)).toThrow("alpha: bun.lock says 0.9.0, node_modules holds 1.0.0; run bun install --frozen-lockfile");
  });

  test("a bundled package bun.lock does not know stops the build", () => {
    const root = project([alpha], {});
    expect(() => thirdPartyNotices([{ key: "alpha", dir: alpha.dir }], root)).toThrow("alpha is in the bundle but not in bun.lock");
  });
});
