/**
 * An error caused by what the client sent. It carries the HTTP status and a stable machine code;
 * the HTTP layer serialises it as `{error: {code, message}}`. Anything else is a server fault.
 */
export class RequestError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 408 | 409 | 413 | 415 | 422 | 429 | 503,
    readonly code: string,
    message: string,
    /** Extra response headers, e.g. `Retry-After` on 429/503 or `WWW-Authenticate` on 401. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** An error's message, or the thrown value as text when it is not an Error. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
