/**
 * Bytes of each answer's body, by request, noted before the answer is sent:
 * once Bun has sent a Response, its body and even its headers are gone, and
 * the request log, written after, reads the size from here.
 */
const answered = new WeakMap<Request, number>();

export function noteAnswerBytes(request: Request, bytes: number | undefined): void {
  if (bytes !== undefined) answered.set(request, bytes);
}

export function answerBytes(request: Request): number | undefined {
  return answered.get(request);
}

/** A text answer that states its length in bytes, so that it can be measured before it is sent. */
export function textResponse(body: string, headers: Record<string, string>, status = 200): Response {
  return new Response(body, { status, headers: { ...headers, "content-length": String(Buffer.byteLength(body)) } });
}

const JSON_TYPE = "application/json;charset=utf-8";

export function jsonResponse(body: string, status = 200, headers: Record<string, string> = {}): Response {
  return textResponse(body, { "content-type": JSON_TYPE, ...headers }, status);
}
