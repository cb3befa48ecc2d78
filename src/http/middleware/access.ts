import type { Context, MiddlewareHandler } from "hono";
import { RequestError } from "../../errors.ts";
import { grants } from "../../ops/api_keys.ts";
import type { HttpOps } from "./ops.ts";

/**
 * Authentication, authorisation, per-key rate limits and admission control, all decided by the request's line of
 * ROUTE_POLICIES (set by requestScope):
 * - `open` routes pass;
 * - with keys configured, `Authorization: Bearer <key>` must name a key (401) holding the route's scope (403),
 *   within its rate (429);
 * - with no keys, loopback clients may do anything; other clients (only with ROBUSTCHECK_ALLOW_ANONYMOUS=1) may
 *   read and check, but writes (`write`, `admin`) stay loopback-only (403);
 * - `work` routes get an admission slot when they call `c.get("admit")()` — after reading their body, so that a slow
 *   upload holds no model-work slot — and give it back when they answer (503 `overloaded` when the queue is full).
 */
export function accessControl(ops: HttpOps): MiddlewareHandler {
  return async (c, next) => {
    const policy = c.get("routePolicy");
    if (policy.scope === "open") return await next();
    const scope = policy.scope;
    if (ops.keys.size > 0) {
      const token = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "")?.[1];
      const challenge = { "www-authenticate": 'Bearer realm="robustcheck"' };
      if (token === undefined) {
        reject(ops, "unauthorized");
        throw new RequestError(401, "unauthorized", "this route needs `Authorization: Bearer <API key>`", challenge);
      }
      const key = await ops.keys.find(token);
      if (!key) {
        reject(ops, "unauthorized");
        throw new RequestError(401, "unauthorized", "the API key is not recognised", challenge);
      }
      c.set("apiKey", key);
      if (!grants(key.scopes, scope)) {
        reject(ops, "forbidden");
        throw new RequestError(403, "forbidden", `the key "${key.id}" lacks the \`${scope}\` scope`);
      }
      const wait = ops.rateLimiter.take(key.id, key.ratePerMinute);
      if (wait > 0) {
        reject(ops, "rate_limited");
        const seconds = Math.ceil(wait);
        throw new RequestError(
          429,
          "rate_limited",
          `the key "${key.id}" is over its ${key.ratePerMinute} requests per minute; retry in ${seconds} s`,
          { "retry-after": String(seconds) },
        );
      }
    } else if (!isLoopbackClient(c) && (scope === "write" || scope === "admin")) {
      reject(ops, "forbidden");
      throw new RequestError(403, "forbidden", "no API keys are configured: writes are accepted from loopback only");
    }
    if (!policy.work) return await next();
    let slot: Promise<() => void> | undefined;
    c.set("admit", async () => {
      slot ??= ops.admission.acquire(c.get("requestSignal"));
      await slot;
    });
    try {
      await next();
    } finally {
      slot?.then((release) => release(), () => {});
    }
  };
}

function reject(ops: HttpOps, reason: string): void {
  ops.metrics.rejections.inc({ reason });
}

/**
 * Whether the peer is this machine. A request handed to the app without a connection (`app.request` in tests) is
 * in-process; one carrying proxy headers came through a proxy, so it is not treated as local.
 */
export function isLoopbackClient(c: Context): boolean {
  if (c.req.header("forwarded") || c.req.header("x-forwarded-for")) return false;
  const info = c.env as Deno.ServeHandlerInfo<Deno.NetAddr> | undefined;
  const address = info?.remoteAddr?.hostname;
  if (address === undefined) return true;
  return isLoopbackAddress(address);
}

export function isLoopbackAddress(address: string): boolean {
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  return v4.startsWith("127.") || address === "::1" || address === "localhost";
}
