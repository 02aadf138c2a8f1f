import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";

const ROOT = join(import.meta.dir, "../..");
const FILES = ["README.md", "CONTRIBUTING.md", ...readdirSync(join(ROOT, "docs")).filter((name) => name.endsWith(".md")).map((name) => `docs/${name}`)];

/** The markdown outside fenced code blocks, where a `#` line is a heading and `](…)` a link. */
function prose(markdown: string): string[] {
  let fenced = false;
  return markdown.split("\n").filter((line) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    return !fenced;
  });
}

/** The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const line of prose(markdown)) {
    const heading = /^#{1,6} (.+)$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = heading.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replaceAll(" ", "-");
    const repeats = seen.get(slug) ?? 0;
    seen.set(slug, repeats + 1);
    found.add(repeats === 0 ? slug : `${slug}-${repeats}`);
  }
  return found;
}

test("every link between the docs reaches a file that exists, and a heading in it", () => {
  const broken: string[] = [];
  let links = 0;
  for (const file of FILES) {
    for (const line of prose(readFileSync(join(ROOT, file), "utf8"))) {
      for (const [, target] of line.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        links++;
        const [path, anchor] = target!.split("#") as [string, string | undefined];
        const resolved = path === "" ? join(ROOT, file) : join(ROOT, dirname(file), path);
        if (!existsSync(resolved)) broken.push(`${file}: ${target} (no file ${relative(ROOT, resolved)})`);
        else if (anchor !== undefined && !anchors(readFileSync(resolved, "utf8")).has(anchor)) broken.push(`${file}: ${target} (no such heading)`);
      }
    }
  }
  expect(links).toBeGreaterThan(10);
  expect(broken).toEqual([]);
});

test("the README links to every file under docs/ and to CONTRIBUTING.md", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  for (const file of FILES.filter((file) => file !== "README.md")) expect(readme).toContain(`](${file}`);
});
