/**
 * Hostile traffic over a real port, bounded: slow headers, slow bodies, many idle connections, clients that
 * disconnect, a burst of heavy checks. /healthz keeps answering, load is shed with 503 + Retry-After, and cancelled
 * work stops — asserted on the session-run counter of /metrics, not on timing.
 */
import assert from "node:assert/strict";
import { metricValue, waitFor } from "./support/metrics.ts";
import { errorOf, loadFixtureImages, MODELS_DIR, multipartRequest, startTestServer } from "./support/server.ts";

/** A check that runs thousands of batches and never succeeds early (ε too small to flip anything). */
const HEAVY = {
  squeeze: false,
  randomization: false,
  fgsm: false,
  minimalEpsilon: false,
  pgd: Array.from({ length: 8 }, () => ({ eps: 0.0001, steps: 1000 })),
};
const RUNS = "robustcheck_session_runs_total";

async function healthyWithin(url: string, ms: number): Promise<void> {
  const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(ms) });
  assert.equal(response.status, 200);
  await response.body?.cancel();
}

/** Waits until the session-run counter stops moving: the work of cancelled requests has stopped. */
async function runsSettle(url: string): Promise<number> {
  let last = await metricValue(url, RUNS);
  await waitFor("session runs to stop", async () => {
    await new Promise((r) => setTimeout(r, 400));
    const now = await metricValue(url, RUNS);
    const still = now === last;
    last = now;
    return still;
  });
  return last;
}

Deno.test("hostile traffic: health stays instant, load is shed, slow uploads time out, cancelled work stops", async (t) => {
  const server = await startTestServer({
    ROBUSTCHECK_MODELS_DIR: MODELS_DIR,
    ROBUSTCHECK_WORKERS: "1",
    ROBUSTCHECK_MAX_IN_FLIGHT: "1",
    ROBUSTCHECK_MAX_QUEUE: "1",
    ROBUSTCHECK_BODY_TIMEOUT_MS: "500",
    ROBUSTCHECK_REQUEST_TIMEOUT_MS: "1500",
  });
  const checkUrl = `${server.url}/v1/models/fashion-cnn/check`;
  const [image] = await loadFixtureImages("fashion", 1);
  const connections: Deno.TcpConn[] = [];
  const connect = () => Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await t.step("100 idle connections and 20 with half-sent headers: /healthz still answers", async () => {
      for (let i = 0; i < 100; i++) connections.push(await connect());
      for (let i = 0; i < 20; i++) {
        const conn = await connect();
        await conn.write(new TextEncoder().encode("POST /v1/models/fashion-cnn/check HTTP/1.1\r\nHost: x\r\nX-Slow: "));
        connections.push(conn);
      }
      await healthyWithin(server.url, 5000);
    });

    await t.step("a body that stalls gets 408 request_timeout; /healthz answers meanwhile", async () => {
      const conn = await connect();
      connections.push(conn);
      const head = "POST /v1/models/fashion-cnn/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n" +
        "Content-Length: 100000\r\n\r\n";
      await conn.write(new TextEncoder().encode(head + "\x89PNG"));
      await healthyWithin(server.url, 5000);
      const buffer = new Uint8Array(4096);
      const n = await conn.read(buffer);
      const reply = new TextDecoder().decode(buffer.subarray(0, n ?? 0));
      assert.match(reply, /^HTTP\/1\.1 408/);
      assert.match(reply, /request_timeout/);
    });

    // Deno aborts request.signal on a disconnect only for requests without a body (a POST's disconnect is noticed
    // when the answer is written: README, Limits), so the client's signal is aborted in-process here.
    await t.step("a client that disconnects mid-check: its attack loop stops", async () => {
      const before = await metricValue(server.url, RUNS);
      const client = new AbortController();
      const request = new Request(checkUrl, { ...multipartRequest(image.bytes, HEAVY), signal: client.signal });
      const pending = server.app.request(request);
      await waitFor("the check to run", async () => (await metricValue(server.url, RUNS)) > before + 3);
      client.abort();
      assert.equal((await pending).status, 499);
      await waitFor(
        "the cancellation",
        async () => (await metricValue(server.url, 'robustcheck_cancelled_requests_total{reason="client_gone"}')) === 1,
      );
      const settled = await runsSettle(server.url);
      // 8 × 1000 PGD steps were asked for; far fewer ran.
      assert.ok(settled - before < 4000, `${settled - before} runs`);
    });

    await t.step("a burst of heavy checks: past 1 running + 1 waiting, 503 overloaded with Retry-After", async () => {
      const burst = Array.from({ length: 6 }, () => fetch(checkUrl, multipartRequest(image.bytes, HEAVY)));
      await healthyWithin(server.url, 5000);
      const responses = await Promise.all(burst);
      const codes: string[] = [];
      for (const response of responses) {
        assert.equal(response.status, 503);
        if ((await errorOf(response.clone())).code === "overloaded") {
          assert.ok(Number(response.headers.get("retry-after")) >= 1);
        }
        codes.push((await errorOf(response)).code);
      }
      assert.equal(codes.filter((c) => c === "overloaded").length, 4, codes.join());
      // The running and the waiting one hit their 1.5 s deadline.
      assert.equal(codes.filter((c) => c === "deadline_exceeded").length, 2, codes.join());
      const settled = await runsSettle(server.url);
      await healthyWithin(server.url, 5000);
      assert.equal(await metricValue(server.url, RUNS), settled, "nothing runs after the deadline");
      assert.equal(await metricValue(server.url, 'robustcheck_rejections_total{reason="overloaded"}'), 4);
    });

    await t.step("after all that, a light check works", async () => {
      const response = await fetch(
        checkUrl,
        multipartRequest(image.bytes, { ...HEAVY, pgd: [{ eps: 0.1, steps: 3 }] }),
      );
      assert.equal(response.status, 200);
      assert.ok(response.headers.get("x-request-id"));
      await response.body?.cancel();
    });
  } finally {
    for (const conn of connections) {
      try {
        conn.close();
      } catch { /* already closed by the server */ }
    }
    await server.shutdown();
  }
});
