/**
 * API keys and scopes over a real port: every route of the policy table × {no key, unknown key, wrong scope, right
 * scope}, per-key rate limits, CORS preflight, security headers, and the no-keys rules (loopback-only writes,
 * refusing a public bind).
 */
import assert from "node:assert/strict";
import { policyFor, ROUTE_POLICIES, UNLISTED } from "../src/http/middleware/route_policy.ts";
import { ApiKeys, sha256Hex } from "../src/ops/api_keys.ts";
import { accessMode } from "../src/server.ts";
import { fixtureModelsDir, startTestServer } from "./support/server.ts";

const KEYS = { read: "k-read", check: "k-check", write: "k-write", admin: "k-admin", limited: "k-limited" } as const;

async function keysFile(dir: string): Promise<string> {
  const entry = async (id: keyof typeof KEYS, scopes: string[], extra = {}) => ({
    id,
    sha256: await sha256Hex(KEYS[id]),
    scopes,
    ...extra,
  });
  const keys = [
    await entry("read", ["read"]),
    await entry("check", ["check"]),
    await entry("write", ["write"]),
    await entry("admin", ["admin"]),
    await entry("limited", ["read"], { ratePerMinute: 2 }),
  ];
  const path = `${dir}/keys.json`;
  await Deno.writeTextFile(path, JSON.stringify({ keys }));
  return path;
}

const concrete = (path: string) => path.replace(/:\w+/g, "fashion-linear").replace(/\*$/, "x");

Deno.test("auth: each route × {no key, unknown key, wrong scope, right scope}; rates; CORS; headers", async (t) => {
  const models = await fixtureModelsDir("fashion-linear");
  const server = await startTestServer({
    ROBUSTCHECK_MODELS_DIR: models,
    ROBUSTCHECK_API_KEYS_FILE: await keysFile(models),
    ROBUSTCHECK_CORS_ORIGINS: "https://ui.example, https://other.example",
  });
  const call = (method: string, path: string, key?: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: key === undefined ? headers : { ...headers, authorization: `Bearer ${key}` },
    });
  try {
    await t.step("every route the app serves has a line in ROUTE_POLICIES", () => {
      const routes = server.app.routes.filter((r) => r.method !== "ALL");
      const missing = routes.filter((r) => policyFor(r.method, concrete(r.path)) === UNLISTED);
      assert.deepEqual(missing.map((r) => `${r.method} ${r.path}`), []);
    });

    for (const policy of ROUTE_POLICIES) {
      const path = concrete(policy.path);
      await t.step(`${policy.method} ${policy.path} (${policy.scope})`, async () => {
        if (policy.scope === "open") {
          const response = await call(policy.method, path);
          assert.notEqual(response.status, 401);
          await response.body?.cancel();
          return;
        }
        const none = await call(policy.method, path);
        assert.equal(none.status, 401);
        assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);
        assert.equal((await none.json()).error.code, "unauthorized");
        const unknown = await call(policy.method, path, "not-a-key");
        assert.equal(unknown.status, 401);
        await unknown.body?.cancel();
        const wrong = policy.scope === "read" ? KEYS.write : KEYS.read;
        const forbidden = await call(policy.method, path, wrong);
        assert.equal(forbidden.status, 403);
        assert.equal((await forbidden.json()).error.code, "forbidden");
        for (const key of [KEYS[policy.scope], KEYS.admin]) {
          const allowed = await call(policy.method, path, key);
          assert.ok(![401, 403, 429].includes(allowed.status), `${key}: ${allowed.status}`);
          await allowed.body?.cancel();
        }
      });
    }

    await t.step("a key over its rate gets 429 rate_limited with Retry-After", async () => {
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 3; i++) {
        last = await call("GET", "/v1/models", KEYS.limited);
        statuses.push(last.status);
        if (i < 2) await last.body?.cancel();
      }
      assert.deepEqual(statuses, [200, 200, 429]);
      assert.equal((await last!.json()).error.code, "rate_limited");
      assert.ok(Number(last!.headers.get("retry-after")) >= 1);
    });

    await t.step("CORS: an allowed origin's preflight passes without a key; others get no CORS grant", async () => {
      const preflight = (origin: string) =>
        call("OPTIONS", "/v1/models/fashion-linear/check", undefined, {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type",
        });
      const allowed = await preflight("https://ui.example");
      assert.equal(allowed.status, 204);
      assert.equal(allowed.headers.get("access-control-allow-origin"), "https://ui.example");
      assert.match(allowed.headers.get("access-control-allow-headers") ?? "", /authorization/i);
      await allowed.body?.cancel();
      const other = await preflight("https://evil.example");
      assert.equal(other.headers.get("access-control-allow-origin"), null);
      await other.body?.cancel();
      const get = await call("GET", "/v1/models", KEYS.read, { origin: "https://other.example" });
      assert.equal(get.headers.get("access-control-allow-origin"), "https://other.example");
      assert.match(get.headers.get("access-control-expose-headers") ?? "", /X-Request-Id/i);
      await get.body?.cancel();
    });

    await t.step("security headers and X-Request-Id on every answer, errors included", async () => {
      const response = await call("GET", "/v1/models", undefined, { "x-request-id": "abc-123" });
      assert.equal(response.status, 401);
      assert.equal(response.headers.get("x-content-type-options"), "nosniff");
      assert.equal(response.headers.get("x-frame-options"), "SAMEORIGIN");
      assert.equal(response.headers.get("x-request-id"), "abc-123");
      await response.body?.cancel();
      const fresh = await call("GET", "/healthz", undefined, { "x-request-id": "bad id with spaces" });
      assert.match(fresh.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
      await fresh.body?.cancel();
    });
  } finally {
    await server.shutdown();
    await Deno.remove(models, { recursive: true });
  }
});

Deno.test("auth: with no keys, loopback may write, a proxied or remote client may only read and check", async () => {
  const models = await fixtureModelsDir("fashion-linear");
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: models });
  try {
    const local = await fetch(`${server.url}/v1/models/fashion-linear/calibrate`, { method: "POST" });
    assert.notEqual(local.status, 403);
    await local.body?.cancel();
    const proxied = { "x-forwarded-for": "203.0.113.9" };
    const write = await fetch(`${server.url}/v1/models/fashion-linear/calibrate`, { method: "POST", headers: proxied });
    assert.equal(write.status, 403);
    assert.match((await write.json()).error.message, /loopback/);
    const read = await fetch(`${server.url}/v1/models`, { headers: proxied });
    assert.equal(read.status, 200);
    await read.body?.cancel();
  } finally {
    await server.shutdown();
    await Deno.remove(models, { recursive: true });
  }
});

Deno.test("auth: a non-loopback bind needs keys or ROBUSTCHECK_ALLOW_ANONYMOUS=1", async () => {
  const none = new ApiKeys([]);
  assert.match(accessMode("127.0.0.1", none, false), /loopback clients only/);
  assert.throws(() => accessMode("0.0.0.0", none, false), /refusing to listen on 0\.0\.0\.0 without API keys/);
  assert.match(accessMode("0.0.0.0", none, true), /writes only from loopback/);
  const one = new ApiKeys([{ sha256: await sha256Hex("k"), key: { id: "a", scopes: new Set(), ratePerMinute: 1 } }]);
  assert.match(accessMode("0.0.0.0", one, false), /1 API keys/);
});
