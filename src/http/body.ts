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
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AppError("InvalidJSON", `The request body is not valid JSON: ${(error as Error).message}.`);
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
  return new AppError("PayloadTooLarge", `The request body is over the limit of ${limit} bytes; split it into smaller requests.`);
}
