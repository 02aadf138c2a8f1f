import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig, OPTIONS, type Option } from "../../src/config/config";

/** One option as a person reads it: its flags (long, then short), variables and default ("" for none). */
interface OptionRow {
  flags: string[];
  env: string[];
  default: string;
}

const README = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
const HEADER = /^\|\s*flag\s*\|\s*env\s*\|\s*meaning\s*\|\s*default\s*\|\s*$/;

const codeSpans = (cell: string) => Array.from(cell.matchAll(/`([^`]+)`/g), (m) => m[1]!);

/**
 * The README's options table. A default is written `""` (or left empty) when
 * there is none, else as the value in backticks, optionally followed by a
 * note: `10485760` (10 MiB).
 */
function readmeRows(markdown: string): OptionRow[] {
  const lines = markdown.split("\n");
  const start = lines.findIndex((line) => HEADER.test(line));
  if (start < 0) throw new Error("README.md has no table headed | flag | env | meaning | default |");
  const rows: OptionRow[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim());
    if (cells.length !== 4) throw new Error(`README.md options table: this row does not have 4 cells: ${line}`);
    const [flags, env, , fallback] = cells as [string, string, string, string];
    const value = fallback === "" || fallback === '""' ? "" : /^`([^`]*)`/.exec(fallback)?.[1];
    if (value === undefined) throw new Error(`README.md options table: write the default in backticks, or "" for none: ${line}`);
    rows.push({ flags: codeSpans(flags), env: codeSpans(env), default: value });
  }
  return rows;
}

/** What the program knows: every entry of OPTIONS, and the switches `--help` lists beside them (help, version). */
function programRows(): OptionRow[] {
  const options = Object.entries(OPTIONS).map(([name, o]: [string, Option]) => ({
    flags: [`--${name}`, ...(o.short ? [`-${o.short}`] : [])],
    env: o.env,
    default: o.default,
  }));
  const help = loadConfig(["--help"], {});
  if (help.name !== "help") throw new Error("--help did not answer the help text");
  const switches = Array.from(help.text.matchAll(/^ {2}(?:-(\w), )? *--([\w-]+)(?: |$)/gm), (m) => ({ short: m[1], name: m[2]! }))
    .filter(({ name }) => !Object.hasOwn(OPTIONS, name))
    .map(({ short, name }) => ({ flags: [`--${name}`, ...(short ? [`-${short}`] : [])], env: [], default: "" }));
  return [...options, ...switches];
}

const byFlag = (rows: OptionRow[]) => rows.toSorted((a, b) => a.flags[0]!.localeCompare(b.flags[0]!));

test("the README's options table lists every option --help lists, with the same flags, variables and defaults", () => {
  const readme = readmeRows(README);
  const program = programRows();
  expect(program.length).toBeGreaterThan(Object.keys(OPTIONS).length);
  expect(byFlag(readme)).toEqual(byFlag(program));
});

test("no option is listed twice in the README's table", () => {
  const flags = readmeRows(README).map((row) => row.flags[0]);
  expect(flags.filter((flag, i) => flags.indexOf(flag) !== i)).toEqual([]);
});

test("the switches beside OPTIONS in --help are ones loadConfig takes, by both spellings", () => {
  for (const row of programRows().filter((row) => !Object.hasOwn(OPTIONS, row.flags[0]!.slice(2)))) {
    const names = new Set(row.flags.map((flag) => loadConfig([flag], {}).name));
    expect(names.size).toBe(1);
    expect(names.has("serve")).toBe(false);
  }
});
