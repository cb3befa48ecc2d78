import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { RequestError } from "../errors.ts";
import type { Logger } from "../ops/log.ts";
import { ClientGone } from "./middleware/ops.ts";

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/**
 * Client errors keep their status, code and headers; work stopped because the client left answers 499 (nobody reads
 * it); anything else is logged and answered as a 500.
 */
export function handleError(error: Error, c: Context, log?: Logger): Response {
  if (error instanceof RequestError) {
    for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
    return c.json(errorBody(error.code, error.message), error.status);
  }
  if (error instanceof ClientGone) return new Response(null, { status: 499 });
  if (error instanceof HTTPException) {
    return c.json(errorBody(error.status === 413 ? "payload_too_large" : "http_error", error.message), error.status);
  }
  if (log) log.error("internal error", { requestId: c.get("requestId"), error });
  else console.error(error);
  return c.json(errorBody("internal_error", "the server failed to handle this request"), 500);
}

/**
 * 404 for unknown paths, 405 (with Allow) when the path exists under other methods.
 * `routes` are Hono route paths such as `/v1/models/:id`.
 */
export function notFoundHandler(routes: () => { method: string; path: string }[]) {
  return (c: Context): Response => {
    const path = new URL(c.req.url).pathname;
    const allowed = new Set(
      routes().filter((r) => r.method !== "ALL" && pathPattern(r.path).test(path)).map((r) => r.method),
    );
    if (allowed.size > 0) {
      c.header("Allow", [...allowed].sort().join(", "));
      return c.json(errorBody("method_not_allowed", `${c.req.method} is not allowed on ${path}`), 405);
    }
    return c.json(errorBody("not_found", `no route for ${path}`), 404);
  };
}

function pathPattern(route: string): RegExp {
  const escaped = route.split("/").map((part) =>
    part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  );
  return new RegExp(`^${escaped.join("/")}/?$`);
}
