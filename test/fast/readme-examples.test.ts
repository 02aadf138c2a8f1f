import { afterEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { openApp, type TestApp } from "../helpers/app";

/**
 * The docs' curl examples, run in order on a fresh app, each answer compared
 * with the `# …` lines written under its command. A checked block is a `sh`
 * block with a line starting `curl`; in it, every line is a command, an
 * answer or blank. A command's answer may be left out only when it writes to
 * a file (`-o`). JSON answers are compared as values (spacing free), others
 * as text (CSV's `\r\n` read as `\n`).
 */
interface Example {
  /** Where the command starts, for the failure message. */
  at: string;
  words: string[];
  expected?: string;
}

const docs = (path: string) => readFileSync(join(import.meta.dir, "../..", path), "utf8");

/** The lines of `## heading` up to the next heading of that level or higher, or the whole file without one. */
function linesOf(markdown: string, heading?: string): { lines: string[]; offset: number } {
  const lines = markdown.split("\n");
  if (heading === undefined) return { lines, offset: 0 };
  const start = lines.indexOf(`## ${heading}`);
  if (start < 0) throw new Error(`no section "## ${heading}"`);
  let fenced = false;
  const end = lines.findIndex((line, i) => {
    if (line.startsWith("```")) fenced = !fenced;
    return i > start && !fenced && /^#{1,2} /.test(line);
  });
  return { lines: lines.slice(start, end < 0 ? undefined : end), offset: start };
}

function examples(file: string, heading?: string): Example[] {
  const found: Example[] = [];
  const { lines, offset } = linesOf(docs(file), heading);
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== "```sh") continue;
    const end = lines.indexOf("```", i + 1);
    if (end < 0) throw new Error(`${file}:${offset + i + 1}: a code block that is not closed`);
    const block = lines.slice(i + 1, end);
    const first = offset + i + 2;
    i = end;
    if (!block.some((line) => line.startsWith("curl "))) continue;
    for (let j = 0; j < block.length; j++) {
      const line = block[j]!;
      if (line.trim() === "") continue;
      const at = `${file}:${first + j}`;
      if (line.startsWith("#")) throw new Error(`${at}: an answer with no command above it`);
      if (!line.startsWith("curl ")) throw new Error(`${at}: a checked block holds only curl commands and their # answers`);
      let text = line;
      let words = shellWords(text);
      while (words === undefined && j + 1 < block.length) words = shellWords((text += "\n" + block[++j]!));
      if (words === undefined) throw new Error(`${at}: an unclosed quote`);
      const answer: string[] = [];
      while (j + 1 < block.length && block[j + 1]!.startsWith("#")) answer.push(block[++j]!.replace(/^# ?/, ""));
      found.push({ at, words, expected: answer.length > 0 ? answer.join("\n") : undefined });
    }
  }
  return found;
}

/** Splits a command line as a POSIX shell would for these examples: quotes, `\` escapes, `|`. Undefined while a quote is open. */
function shellWords(text: string): string[] | undefined {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) return undefined;
      word = (word ?? "") + text.slice(i + 1, close);
      i = close;
    } else if (c === '"') {
      let out = "";
      for (i++; i < text.length && text[i] !== '"'; i++) out += text[i] === "\\" && /["\\$`]/.test(text[i + 1] ?? "") ? text[++i] : text[i];
      if (i >= text.length) return undefined;
      word = (word ?? "") + out;
    } else if (c === "\\" && text[i + 1] === "\n") {
      i++;
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "|") {
      if (word !== undefined) words.push(word);
      words.push("|");
      word = undefined;
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

interface Curl {
  path: string;
  init: RequestInit;
  toFile: boolean;
  grep?: RegExp;
}

/** The parts of curl the examples use: -X, -d, -H, -u, -s, -o, and a `| grep PATTERN` after. */
function readCurl(words: string[]): Curl {
  const pipe = words.indexOf("|");
  const [command, ...args] = pipe < 0 ? words : words.slice(0, pipe);
  const filter = pipe < 0 ? [] : words.slice(pipe + 1);
  if (command !== "curl") throw new Error(`not a curl command: ${words.join(" ")}`);
  if (filter.length > 0 && (filter.length !== 2 || filter[0] !== "grep")) throw new Error(`only "| grep PATTERN" may follow curl: ${filter.join(" ")}`);

  const headers = new Headers();
  let method: string | undefined;
  let body: string | undefined;
  let url: string | undefined;
  let toFile = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = () => {
      const next = args[++i];
      if (next === undefined) throw new Error(`curl ${arg} needs a value`);
      return next;
    };
    if (arg === "-X") method = value();
    else if (arg === "-d") body = value();
    else if (arg === "-H") {
      const [name, ...rest] = value().split(":");
      headers.set(name!, rest.join(":").trim());
    } else if (arg === "-u") headers.set("authorization", `Basic ${Buffer.from(value()).toString("base64")}`);
    else if (arg === "-o") toFile = (value(), true);
    else if (arg === "-s") continue;
    else if (arg.startsWith("-")) throw new Error(`curl ${arg}: not an option these examples may use`);
    else url = arg;
  }
  if (url === undefined) throw new Error(`curl without a URL: ${words.join(" ")}`);
  // As curl does: -d sends a form's content type, and makes the request a POST.
  if (body !== undefined && !headers.has("content-type")) headers.set("content-type", "application/x-www-form-urlencoded");
  const path = url.replace(/^(https?:\/\/)?[^/]*/, "") || "/";
  return { path, init: { method: method ?? (body === undefined ? "GET" : "POST"), body, headers }, toFile, grep: filter[1] ? new RegExp(filter[1]) : undefined };
}

function sameAnswer(actual: string, expected: string, at: string): void {
  let expectedJson: unknown;
  try {
    expectedJson = JSON.parse(expected);
  } catch {
    expect(`${at}\n${actual.replaceAll("\r\n", "\n").trimEnd()}`).toBe(`${at}\n${expected.trimEnd()}`);
    return;
  }
  let actualJson: unknown;
  try {
    actualJson = JSON.parse(actual);
  } catch {
    actualJson = actual;
  }
  expect({ at, answer: actualJson }).toEqual({ at, answer: expectedJson });
}

async function run(app: TestApp, list: Example[]): Promise<void> {
  expect(list.length).toBeGreaterThan(0);
  for (const { at, words, expected } of list) {
    const curl = readCurl(words);
    if (expected === undefined && !curl.toFile) throw new Error(`${at}: write the answer under the command (# …)`);
    const response = await app.fetch(curl.path, curl.init);
    let text = await response.text();
    if (curl.grep) text = text.split("\n").filter((line) => curl.grep!.test(line)).join("\n");
    if (expected !== undefined) sameAnswer(text, expected, at);
  }
}

let app: TestApp | undefined;
afterEach(() => {
  app?.close();
  app = undefined;
});

test("the README's quick-start examples answer what the README shows, in order", async () => {
  app = await openApp();
  await run(app, examples("README.md", "Quick start"));
});

test("every example in docs/api.md answers what it shows, in order", async () => {
  app = await openApp();
  await run(app, examples("docs/api.md"));
});
