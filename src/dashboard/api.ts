/**
 * The page's only way to the service: same origin, JSON, and the viewer's
 * credentials. With basic auth the browser adds the user and password it was
 * given for the page; a bearer token, when the viewer gave one, is kept in
 * this tab's session storage and sent as a header, never in a URL.
 */

const TOKEN_KEY = "micro-analytics.token";

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** Why a request failed, in the terms the page acts on. */
export class ApiError extends Error {
  constructor(
    readonly kind: "credentials" | "unknown-website" | "unreachable" | "answer",
    message: string,
    readonly status = 0,
    readonly code = "",
  ) {
    super(message);
  }
}

export function authHeaders(): Record<string, string> {
  const bearer = token.get();
  return bearer ? { authorization: `Bearer ${bearer}` } : {};
}

/** GETs a JSON answer of the API; throws ApiError. */
export async function getJson<T>(path: string, params: URLSearchParams | undefined, signal?: AbortSignal): Promise<T> {
  const url = params && params.size > 0 ? `${path}?${params}` : path;
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: "application/json", ...authHeaders() }, signal, credentials: "same-origin" });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError("unreachable", `The service at ${location.origin} does not answer.`);
  }
  const text = await response.text();
  let body: { code?: string; message?: string } & Record<string, unknown>;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError("answer", `The service answered ${response.status} with something that is not JSON.`, response.status);
  }
  if (response.ok) return body as T;
  const code = body.code ?? "";
  const message = body.message ?? `The service answered ${response.status}.`;
  // 403: a token that opens less than reads (the ingest token).
  if (response.status === 401 || response.status === 403) throw new ApiError("credentials", message, response.status, code);
  if (code === "InvalidDatabaseName") throw new ApiError("unknown-website", message, response.status, code);
  throw new ApiError("answer", message, response.status, code);
}
