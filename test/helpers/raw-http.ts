import { connect } from "node:net";

/**
 * Raw HTTP: a request goes out byte for byte as written (fetch would
 * normalise `..`, `%2e%2e` and backslashes, and always sends a Host), and the
 * answer is parsed from the bytes that came back.
 */
export interface RawRequest {
  method: string;
  /** The request target, written as is (it may hold raw UTF-8). */
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Send the body with Transfer-Encoding: chunked, in chunks of this many bytes. */
  chunked?: number;
  /** The Host header's value; null sends none. Defaults to the server's host:port. */
  host?: string | null;
  version?: "HTTP/1.1" | "HTTP/1.0";
}

export interface RawAnswer {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  text: string;
  /** Set when the connection ended without a complete HTTP answer. */
  dropped?: string;
}

/** Sends one request on its own connection; a connection that stays silent past `timeoutMs` is a dropped answer. */
export function rawRequest(url: string, req: RawRequest, timeoutMs = 10_000): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  const body = typeof req.body === "string" ? Buffer.from(req.body, "utf8") : req.body ? Buffer.from(req.body) : undefined;
  const lines = [`${req.method} ${req.path} ${req.version ?? "HTTP/1.1"}`];
  const host = req.host === undefined ? `${hostname}:${port}` : req.host;
  if (host !== null) lines.push(`Host: ${host}`);
  for (const [name, value] of Object.entries(req.headers ?? {})) lines.push(`${name}: ${value}`);
  if (body !== undefined) lines.push(req.chunked ? "Transfer-Encoding: chunked" : `Content-Length: ${body.length}`);
  lines.push("Connection: close", "", "");
  const parts: Buffer[] = [Buffer.from(lines.join("\r\n"), "utf8")];
  if (body !== undefined && req.chunked) {
    for (let at = 0; at < body.length; at += req.chunked) {
      const chunk = body.subarray(at, at + req.chunked);
      parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n"));
    }
    parts.push(Buffer.from("0\r\n\r\n"));
  } else if (body !== undefined) {
    parts.push(body);
  }

  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    let socketError: string | undefined;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(parseAnswer(Buffer.concat(chunks), socketError));
    };
    const socket = connect(Number(port), hostname, () => socket.end(Buffer.concat(parts)));
    const timer = setTimeout(() => {
      socketError = `no complete answer within ${timeoutMs} ms`;
      socket.destroy();
      finish();
    }, timeoutMs);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (error) => {
      socketError = error.message;
    });
    socket.on("close", finish);
  });
}

/** An HTTP/1.x answer from its bytes: status line, headers, and the body (chunked or of a Content-Length). */
export function parseAnswer(bytes: Buffer, socketError?: string): RawAnswer {
  const headEnd = bytes.indexOf("\r\n\r\n");
  const fail = (why: string): RawAnswer => ({
    status: 0,
    headers: {},
    text: bytes.toString("utf8"),
    dropped: socketError ? `${why} (${socketError})` : why,
  });
  if (headEnd < 0) return fail("the connection ended before an HTTP head");
  const [statusLine = "", ...headerLines] = bytes.subarray(0, headEnd).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  if (!status) return fail(`not an HTTP status line: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let payload = bytes.subarray(headEnd + 4);
  if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
    const decoded = decodeChunked(payload);
    if (decoded === undefined) return { ...fail("the chunked body ended early"), status };
    payload = decoded;
  } else if (headers["content-length"] !== undefined) {
    const length = Number(headers["content-length"]);
    if (payload.length < length) return { ...fail(`the body ended after ${payload.length} of ${length} bytes`), status };
    payload = payload.subarray(0, length);
  }
  return { status, headers, text: payload.toString("utf8") };
}

function decodeChunked(payload: Buffer): Buffer | undefined {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = payload.indexOf("\r\n", at);
    if (lineEnd < 0) return undefined;
    const size = parseInt(payload.subarray(at, lineEnd).toString("latin1"), 16);
    if (Number.isNaN(size)) return undefined;
    if (size === 0) return Buffer.concat(out);
    if (payload.length < lineEnd + 2 + size) return undefined;
    out.push(payload.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

/** The same shape from a fetch Response (in process, or over a socket). */
export async function rawAnswerOf(response: Response): Promise<RawAnswer> {
  return { status: response.status, headers: Object.fromEntries(response.headers), text: await response.text() };
}

/** What is wrong with an answer that should be a 4xx `{code, message}` in JSON; undefined when it is right. */
export function problemWithRefusal(answer: RawAnswer): string | undefined {
  if (answer.dropped) return `dropped: ${answer.dropped}`;
  if (answer.status < 400 || answer.status > 499) return `status ${answer.status}, expected a 4xx`;
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return `status ${answer.status} with a body that is not JSON: ${JSON.stringify(answer.text.slice(0, 200))}`;
  }
  const b = body as Record<string, unknown>;
  const keys = body && typeof body === "object" && !Array.isArray(body) ? Object.keys(b).sort().join(",") : "";
  if (keys !== "code,message" || typeof b.code !== "string" || typeof b.message !== "string" || b.message.trim() === "") {
    return `status ${answer.status} with a body that is not {code, message}: ${answer.text.slice(0, 200)}`;
  }
  if (!/application\/json/i.test(answer.headers["content-type"] ?? "")) {
    return `status ${answer.status} with content-type ${JSON.stringify(answer.headers["content-type"])}`;
  }
  return undefined;
}

/** The answer's body parsed as JSON, or its text when it is not JSON. */
export function json(answer: RawAnswer): any {
  try {
    return JSON.parse(answer.text);
  } catch {
    return answer.text;
  }
}
