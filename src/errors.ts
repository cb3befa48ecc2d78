/**
 * An error caused by what the client sent. It carries the HTTP status and a stable machine code;
 * the HTTP layer serialises it as `{error: {code, message}}`. Anything else is a server fault.
 */
export class RequestError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 405 | 409 | 413 | 415 | 422 | 503,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
