import type { Scope } from "../../ops/api_keys.ts";

/**
 * Who may call what: one line per route and method. `scope` is what an API key needs (`open` = anyone, no key);
 * `work` marks model work, which goes through admission control (a bounded number in flight, a bounded queue): its
 * handler calls `await c.get("admit")()` once its body is read, before the model runs.
 * A route missing here needs `admin` (tests/auth_test.ts fails until every registered route has its line).
 * Paths are Hono patterns: `:param` is one segment, a trailing `*` any rest.
 */
export interface RoutePolicy {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  scope: Scope | "open";
  work?: boolean;
}

export const ROUTE_POLICIES: readonly RoutePolicy[] = [
  { method: "GET", path: "/healthz", scope: "open" },
  { method: "GET", path: "/readyz", scope: "open" },
  { method: "GET", path: "/openapi.json", scope: "open" },
  { method: "GET", path: "/docs", scope: "open" },
  { method: "GET", path: "/docs/*", scope: "open" },
  // The web UI's page and static assets: the page asks for a key and sends it with its API calls.
  { method: "GET", path: "/", scope: "open" },
  { method: "GET", path: "/ui/*", scope: "open" },
  { method: "GET", path: "/metrics", scope: "read" },
  { method: "GET", path: "/v1/models", scope: "read" },
  { method: "GET", path: "/v1/models/:id", scope: "read" },
  { method: "GET", path: "/v1/models/:id/inspect", scope: "read" },
  // Uploading validates the model (a forward pass, the gradient check): model work.
  { method: "POST", path: "/v1/models", scope: "write", work: true },
  { method: "DELETE", path: "/v1/models/:id", scope: "write" },
  { method: "POST", path: "/v1/models/:id/predict", scope: "check", work: true },
  { method: "POST", path: "/v1/models/:id/check", scope: "check", work: true },
  { method: "POST", path: "/v1/models/:id/calibrate", scope: "write", work: true },
  // Creating an audit reads the model and the dataset and queues its shards: model work.
  { method: "POST", path: "/v1/audits", scope: "write", work: true },
  { method: "GET", path: "/v1/audits", scope: "read" },
  { method: "GET", path: "/v1/audits/:id", scope: "read" },
  { method: "DELETE", path: "/v1/audits/:id", scope: "write" },
  { method: "GET", path: "/v1/audits/:id/events", scope: "read" },
  { method: "GET", path: "/v1/audits/:id/report", scope: "read" },
  { method: "GET", path: "/v1/audits/:id/report.html", scope: "read" },
  { method: "GET", path: "/v1/audits/:id/rows.csv", scope: "read" },
];

/** The policy of an unlisted route (and the route label of unmatched paths in metrics). */
export const UNLISTED: RoutePolicy & { path: "(unlisted)" } = { method: "GET", path: "(unlisted)", scope: "admin" };

/** The first line matching the method (HEAD as GET) and path, or UNLISTED. */
export function policyFor(method: string, path: string, table: readonly RoutePolicy[] = ROUTE_POLICIES): RoutePolicy {
  const wanted = method === "HEAD" ? "GET" : method;
  return table.find((p) => p.method === wanted && matches(p.path, path)) ?? UNLISTED;
}

function matches(pattern: string, path: string): boolean {
  const want = pattern.split("/");
  const got = path.replace(/\/+$/, "").split("/");
  if (path === "/" || pattern === "/") return path === pattern;
  for (let i = 0; i < want.length; i++) {
    if (want[i] === "*" && i === want.length - 1) return got.length > i;
    if (i >= got.length) return false;
    if (want[i].startsWith(":") ? got[i] === "" : want[i] !== got[i]) return false;
  }
  return got.length === want.length;
}
