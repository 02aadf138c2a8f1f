import { AppError } from "../errors";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads a request body as JSON, refusing it with 413 as soon as it is known to
 * be over `limit` bytes: from Content-Length before reading, or while
 * streaming when the length was not announced.
 */
export async function readJsonBody(request: Request, limit: number): Promise<unknown> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
  // With a declared length the server already holds the body to that length; read it whole.
  const bytes = declared !== null ? await request.bytes() : await readCapped(request.body, limit);

  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new AppError("InvalidJSON", "The request body is not valid UTF-8.");
  }
  if (text.trim() === "") throw new AppError("InvalidJSON", "The request body is empty; send a JSON object.");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new AppError("InvalidJSON", `The request body is not valid JSON: ${(error as Error).message}.`);
  }
  assertDepth(body);
  return body;
}

/** No valid body nests deeper than four levels; unknown fields may add a few, not thousands. */
const MAX_DEPTH = 32;

function assertDepth(body: unknown): void {
  if (typeof body !== "object" || body === null) return;
  const stack: [object, number][] = [[body, 1]];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [value, depth] = item;
    if (depth > MAX_DEPTH) {
      throw new AppError("LimitExceeded", `The request body nests objects or arrays deeper than ${MAX_DEPTH} levels.`);
    }
    for (const child of Array.isArray(value) ? value : Object.values(value)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
    }
  }
}

/** A body of unannounced length (chunked): counted while it arrives. */
async function readCapped(body: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (body) {
    for await (const chunk of body) {
      size += chunk.byteLength;
      if (size > limit) throw tooLarge(limit);
      chunks.push(chunk);
    }
  }
  return Buffer.concat(chunks, size);
}

function tooLarge(limit: number): AppError {
  return new AppError("PayloadTooLarge", `The request body is over the limit of ${limit} bytes (--max-body-size); split it into smaller requests.`);
}
