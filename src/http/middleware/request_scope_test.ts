/** The operations middleware on a bare Hono app with stub routes: caps, deadline, disconnect, drain, admission. */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { Admission } from "../../ops/admission.ts";
import { handleError } from "../errors.ts";
import { accessControl } from "./access.ts";
import { defaultHttpOps, type HttpOps } from "./ops.ts";
import { requestScope } from "./request_scope.ts";

/** `/v1/models/:id/check` (a `work` route) holds until its signal aborts or `release` is called. */
function app(overrides: Partial<HttpOps>) {
  const ops = { ...defaultHttpOps(), ...overrides };
  const app = new Hono();
  app.use("*", requestScope(ops));
  app.use("*", accessControl(ops));
  let release = () => {};
  app.post("/v1/models/:id/check", async (c) => {
    await c.get("admit")();
    const signal = c.get("requestSignal");
    await new Promise<void>((resolve, reject) => {
      release = resolve;
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
    return c.json({ ok: true });
  });
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.onError((e, c) => handleError(e, c));
  return { app, ops, release: () => release() };
}

const post = (path = "/v1/models/m/check", init: RequestInit = {}) =>
  new Request(`http://localhost${path}`, { method: "POST", ...init });

Deno.test("request scope: past ROBUSTCHECK_MAX_REQUESTS a request gets 503 overloaded; health is not counted", async () => {
  const { app: a, release } = app({ maxRequests: 1 });
  const first = a.request(post());
  await new Promise((r) => setTimeout(r, 20));
  const second = await a.request(post());
  assert.equal(second.status, 503);
  assert.equal((await second.json()).error.code, "overloaded");
  assert.equal(second.headers.get("retry-after"), "1");
  assert.equal((await a.request("/healthz")).status, 200);
  release();
  assert.equal((await first).status, 200);
});

Deno.test("request scope: the deadline aborts the work's signal with 503 deadline_exceeded", async () => {
  const { app: a, ops } = app({ requestTimeoutMs: 50 });
  const response = await a.request(post());
  assert.equal(response.status, 503);
  assert.equal((await response.json()).error.code, "deadline_exceeded");
  const text = await ops.metrics.registry.metrics();
  assert.match(text, /robustcheck_cancelled_requests_total\{reason="deadline_exceeded"\} 1/);
  assert.match(
    text,
    /robustcheck_http_requests_total\{route="\/v1\/models\/:id\/check",method="POST",status="503"\} 1/,
  );
});

Deno.test("request scope: a client that goes away aborts the work (499); draining refuses new work", async () => {
  const { app: a, ops } = app({});
  const client = new AbortController();
  const pending = a.request(post(undefined, { signal: client.signal }));
  await new Promise((r) => setTimeout(r, 20));
  client.abort();
  assert.equal((await pending).status, 499);
  ops.requests.draining = true;
  const refused = await a.request(post());
  assert.equal(refused.status, 503);
  assert.equal((await refused.json()).error.code, "shutting_down");
  assert.equal((await a.request("/healthz")).status, 200);
});

Deno.test("access: work routes queue for an admission slot and are shed past the queue", async () => {
  const { app: a, release } = app({ admission: new Admission({ maxInFlight: 1, maxQueue: 0 }) });
  const first = a.request(post());
  await new Promise((r) => setTimeout(r, 20));
  const shed = await a.request(post());
  assert.equal(shed.status, 503);
  assert.ok(Number(shed.headers.get("retry-after")) >= 1);
  release();
  assert.equal((await first).status, 200);
});
