import { Admission } from "../../ops/admission.ts";
import { type ApiKey, ApiKeys } from "../../ops/api_keys.ts";
import { createLogger, type Logger } from "../../ops/log.ts";
import { createMetrics, type Metrics } from "../../ops/metrics.ts";
import { RateLimiter } from "../../ops/rate_limit.ts";
import type { RoutePolicy } from "./route_policy.ts";

/** What the operations middleware needs from the running server (src/server.ts builds it from the config). */
export interface HttpOps {
  log: Logger;
  metrics: Metrics;
  admission: Admission;
  keys: ApiKeys;
  rateLimiter: RateLimiter;
  /** In-flight requests, so that shutdown can cancel them. */
  requests: RequestTracker;
  requestTimeoutMs: number;
  /** Requests handled at once (open routes excepted); past it: 503 `overloaded`. */
  maxRequests: number;
  /** With no keys: whether clients that are not on loopback may read and check. */
  allowAnonymous: boolean;
  corsOrigins: string[];
}

/** Defaults for an app made without a server (tests with `app.request`): no keys, generous limits, no logs. */
export function defaultHttpOps(): HttpOps {
  return {
    log: createLogger({ level: "silent" }),
    metrics: createMetrics(),
    admission: new Admission({ maxInFlight: 2, maxQueue: 64 }),
    keys: new ApiKeys([]),
    rateLimiter: new RateLimiter(),
    requests: new RequestTracker(),
    requestTimeoutMs: 120_000,
    maxRequests: 256,
    allowAnonymous: false,
    corsOrigins: [],
  };
}

/**
 * The controllers of the requests being handled. At shutdown the tracker drains (new requests are refused with 503
 * `shutting_down`), `idle` waits for the running ones, and `cancelAll` aborts the rest past the grace period.
 */
export class RequestTracker {
  readonly #active = new Set<AbortController>();
  readonly #onIdle = new Set<() => void>();
  draining = false;

  get size(): number {
    return this.#active.size;
  }

  add(controller: AbortController): () => void {
    this.#active.add(controller);
    return () => {
      this.#active.delete(controller);
      if (this.#active.size === 0) { for (const f of this.#onIdle) f(); }
    };
  }

  /** Resolves when no request is being handled, or after `timeoutMs`; true when idle. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.#active.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (idle: boolean) => {
        clearTimeout(timer);
        this.#onIdle.delete(onIdle);
        resolve(idle);
      };
      const onIdle = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#onIdle.add(onIdle);
    });
  }

  cancelAll(reason: unknown): void {
    for (const c of this.#active) c.abort(reason);
  }
}

/** Raised into a request's work when its client disconnected: nobody reads the answer (logged as 499). */
export class ClientGone extends Error {
  constructor() {
    super("the client closed the connection");
  }
}

declare module "hono" {
  interface ContextVariableMap {
    /** X-Request-Id: the client's (when it is a sane token) or a fresh UUID; echoed on the response. */
    requestId: string;
    /** Aborted at the request's deadline, when its client disconnects, or at shutdown; pass it to all work. */
    requestSignal: AbortSignal;
    /** This request's line of ROUTE_POLICIES. */
    routePolicy: RoutePolicy;
    /** The key that authenticated this request, if any. */
    apiKey: ApiKey | undefined;
    /**
     * Waits for a model-work slot (admission control) on routes marked `work`; a no-op elsewhere. Call it after the
     * body is read and before the model runs; the slot is given back when the response is ready.
     */
    admit: () => Promise<void>;
  }
}
