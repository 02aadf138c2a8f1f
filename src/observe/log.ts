export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "text" | "json";

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export type Fields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  /** Start and stop of the service: written at every level. */
  notice(message: string, fields?: Fields): void;
}

/**
 * Lines to stdout (warnings and errors to stderr), one event a line, as text
 * (`2026-11-28T10:00:00.000Z INFO message key=value`) or as JSON objects for a
 * log collector. Lines are gathered and written once per event-loop turn: a
 * write per request would cost the hot path a system call each.
 */
export function createLogger(level: LogLevel, format: LogFormat): Logger {
  const buffers = { out: [] as string[], err: [] as string[] };
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (buffers.out.length > 0) process.stdout.write(buffers.out.join(""));
    if (buffers.err.length > 0) process.stderr.write(buffers.err.join(""));
    buffers.out = [];
    buffers.err = [];
  };
  // What was logged right before an exit still reaches the terminal or journal.
  process.on("exit", flush);

  const write = (lineLevel: LogLevel, always = false) => (message: string, fields: Fields = {}) => {
    if (!always && RANK[lineLevel] < RANK[level]) return;
    const time = new Date().toISOString();
    const line =
      format === "json"
        ? JSON.stringify({ time, level: lineLevel, msg: message, ...fields }) + "\n"
        : `${time} ${lineLevel.toUpperCase()} ${message}${formatFields(fields)}\n`;
    (RANK[lineLevel] >= RANK.warn ? buffers.err : buffers.out).push(line);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error"), notice: write("info", true) };
}

function formatFields(fields: Fields): string {
  let out = "";
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = String(value);
    out += ` ${key}=${/[\s"=]/.test(text) || text === "" ? JSON.stringify(text) : text}`;
  }
  return out;
}
