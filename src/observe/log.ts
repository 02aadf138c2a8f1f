export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "text" | "json";

/** A line's level: the four that `--log-level` chooses from, and `notice` for start and stop. */
type LineLevel = LogLevel | "notice";

const RANK: Record<LineLevel, number> = { debug: 0, info: 1, notice: 2, warn: 3, error: 4 };

export type Fields = Record<string, string | number | boolean | undefined>;

/** One answered request, as the request log writes it. */
export interface RequestLine {
  method: string;
  path: string;
  status: number;
  durationMs: number;
  /** Bytes of the answer's body, when known. */
  bytes?: number;
  /** The address the connection came from; none for a request handled in process. */
  client?: string;
}

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  /**
   * Start and stop of the service, labelled NOTICE and written at every
   * level: `--log-level warn` shows no INFO line, yet still that the service
   * started and stopped.
   */
  notice(message: string, fields?: Fields): void;
  /** A request line, at INFO. */
  request(line: RequestLine): void;
  /** Whether lines of this level are written: what a line would cost to build is spared otherwise. */
  writes(level: LogLevel): boolean;
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

  const writes = (lineLevel: LineLevel) => lineLevel === "notice" || RANK[lineLevel] >= RANK[level];
  const emit = (lineLevel: LineLevel, message: string, fields: Fields, textFields: Fields = fields) => {
    const time = new Date().toISOString();
    const line =
      format === "json"
        ? JSON.stringify({ time, level: lineLevel, msg: message, ...fields }) + "\n"
        : `${time} ${lineLevel.toUpperCase()} ${message}${formatFields(textFields)}\n`;
    (RANK[lineLevel] >= RANK.warn ? buffers.err : buffers.out).push(line);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  const write = (lineLevel: LineLevel) => (message: string, fields: Fields = {}) => {
    if (writes(lineLevel)) emit(lineLevel, message, fields);
  };
  return {
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
    notice: write("notice"),
    request(line) {
      if (!writes("info")) return;
      const { method, path, status, durationMs, bytes, client } = line;
      const duration = Math.round(durationMs * 10) / 10;
      // As text, the fields already in the message are not repeated.
      emit("info", `${method} ${path} ${status} ${duration.toFixed(1)}ms`, { method, path, status, durationMs: duration, bytes, client }, { bytes, client });
    },
    writes,
  };
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
