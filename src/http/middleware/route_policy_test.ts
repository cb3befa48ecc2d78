import assert from "node:assert/strict";
import { policyFor, type RoutePolicy } from "./route_policy.ts";

Deno.test("route policy: params match one segment, * the rest, HEAD is GET, unlisted needs admin", () => {
  const table: RoutePolicy[] = [
    { method: "GET", path: "/", scope: "open" },
    { method: "GET", path: "/v1/models/:id", scope: "read" },
    { method: "POST", path: "/v1/models/:id/check", scope: "check", work: true },
    { method: "GET", path: "/ui/*", scope: "open" },
  ];
  const at = (method: string, path: string) => policyFor(method, path, table).path;
  assert.equal(at("GET", "/"), "/");
  assert.equal(at("GET", "/v1/models/a"), "/v1/models/:id");
  assert.equal(at("HEAD", "/v1/models/a/"), "/v1/models/:id");
  assert.equal(at("POST", "/v1/models/a/check"), "/v1/models/:id/check");
  assert.equal(at("GET", "/v1/models/a/check"), "(unlisted)");
  assert.equal(at("GET", "/v1/models//"), "(unlisted)");
  assert.equal(at("GET", "/ui/app.js"), "/ui/*");
  assert.equal(at("GET", "/ui/a/b.css"), "/ui/*");
  assert.equal(at("GET", "/ui"), "(unlisted)");
  assert.equal(at("GET", "/nope"), "(unlisted)");
  assert.equal(policyFor("DELETE", "/v1/models/a", table).scope, "admin");
});
