import type { MiddlewareHandler } from "hono";
import { RequestError } from "../../errors.ts";
import { errorBody } from "../errors.ts";
import { ClientGone, type HttpOps } from "./ops.ts";
import { policyFor } from "./route_policy.ts";

const REQUEST_ID = /^[\w.:@-]{1,128}$/;

/**
 * The first middleware: gives every request an id, a route policy, a cancellation signal (deadline, client
 * disconnect, shutdown) and a cap on requests handled at once; afterwards writes one access-log line and the
 * request metrics.
 */
export function requestScope(ops: HttpOps): MiddlewareHandler {
  let handling = 0;
  return async (c, next) => {
    const start = performance.now();
    const path = new URL(c.req.url).pathname;
    const policy = policyFor(c.req.method, path);
    const offered = c.req.header("x-request-id");
    const requestId = offered && REQUEST_ID.test(offered) ? offered : crypto.randomUUID();
    const controller = new AbortController();
    const client = c.req.raw.signal;
    const onClientGone = () => controller.abort(new ClientGone());
    client.addEventListener("abort", onClientGone, { once: true });
    const deadline = setTimeout(
      () =>
        controller.abort(
          new RequestError(503, "deadline_exceeded", `the request did not finish within ${ops.requestTimeoutMs} ms`),
        ),
      ops.requestTimeoutMs,
    );
    const untrack = ops.requests.add(controller);
    c.set("requestId", requestId);
    c.set("requestSignal", controller.signal);
    c.set("routePolicy", policy);
    c.set("apiKey", undefined);
    c.set("admit", () => Promise.resolve());
    const counted = policy.scope !== "open";
    if (counted) handling++;
    try {
      if (ops.requests.draining && counted) {
        c.header("Connection", "close");
        c.res = c.json(errorBody("shutting_down", "the server is shutting down"), 503);
      } else if (counted && handling > ops.maxRequests) {
        ops.metrics.rejections.inc({ reason: "too_many_requests" });
        c.header("Retry-After", "1");
        c.res = c.json(
          errorBody("overloaded", `the server is handling ${ops.maxRequests} requests; retry shortly`),
          503,
        );
      } else {
        await next();
      }
    } finally {
      if (counted) handling--;
      clearTimeout(deadline);
      client.removeEventListener("abort", onClientGone);
      untrack();
    }
    c.header("X-Request-Id", requestId);
    const status = controller.signal.reason instanceof ClientGone ? 499 : c.res.status;
    if (controller.signal.aborted) ops.metrics.cancellations.inc({ reason: cancelReason(controller.signal.reason) });
    const seconds = (performance.now() - start) / 1000;
    ops.metrics.requests.inc({ route: policy.path, method: c.req.method, status: String(status) });
    ops.metrics.latency.observe({ route: policy.path, method: c.req.method }, seconds);
    ops.log.info("request", {
      requestId,
      method: c.req.method,
      path,
      route: policy.path,
      status,
      ms: Math.round(seconds * 1000 * 10) / 10,
      key: c.get("apiKey")?.id,
    });
  };
}

function cancelReason(reason: unknown): string {
  if (reason instanceof ClientGone) return "client_gone";
  if (reason instanceof RequestError) return reason.code;
  return "other";
}
