/**
 * Worker supervision and shutdown over a real port: a killed session Worker fails its in-flight request with 503
 * `worker_restarted` and is replaced (the next request works, /readyz counts the restart); shutdown cancels what is
 * still running after the grace period, aborts stalled uploads, and the process exits 0 on SIGTERM.
 */
import assert from "node:assert/strict";
import { freshDataDir } from "../src/storage/testing.ts";
import { metricValue, waitFor } from "./support/metrics.ts";
import {
  errorOf,
  fixtureModelsDir,
  imageRequest,
  loadFixtureImages,
  MODELS_DIR,
  multipartRequest,
  startTestServer,
} from "./support/server.ts";

const HEAVY = {
  squeeze: false,
  randomization: false,
  fgsm: false,
  minimalEpsilon: false,
  pgd: Array.from({ length: 8 }, () => ({ eps: 0.0001, steps: 1000 })),
};
const RUNS = "robustcheck_session_runs_total";

const predict = async (url: string, bytes: Uint8Array) => {
  const response = await fetch(`${url}/v1/models/fashion-cnn/predict`, imageRequest(bytes));
  assert.equal(response.status, 200);
  return (await response.json()).prediction;
};

Deno.test("lifecycle: a killed session Worker is replaced; its in-flight request gets 503, the next one works", async () => {
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: MODELS_DIR, ROBUSTCHECK_WORKERS: "1" });
  const [image] = await loadFixtureImages("fashion", 1);
  try {
    const clean = await predict(server.url, image.bytes);
    const before = await metricValue(server.url, RUNS);
    const inFlight = fetch(`${server.url}/v1/models/fashion-cnn/check`, multipartRequest(image.bytes, HEAVY));
    await waitFor("the check to run", async () => (await metricValue(server.url, RUNS)) > before + 3);
    server.engine.killWorker(0);
    const failed = await inFlight;
    assert.equal(failed.status, 503);
    assert.equal(failed.headers.get("retry-after"), "1");
    assert.equal((await errorOf(failed)).code, "worker_restarted");
    // The replacement has the model's sessions again: the same answer as before the crash.
    const after = await predict(server.url, image.bytes);
    assert.equal(after.index, clean.index);
    assert.ok(Math.abs(after.confidence - clean.confidence) < 1e-6);
    const ready = await (await fetch(`${server.url}/readyz`)).json();
    assert.equal(ready.workerRestarts, 1);
    assert.equal(await metricValue(server.url, "robustcheck_worker_restarts_total"), 1);
  } finally {
    await server.shutdown();
  }
});

Deno.test("lifecycle: shutdown cancels running work and stalled uploads after the grace period", async () => {
  const server = await startTestServer({
    ROBUSTCHECK_MODELS_DIR: MODELS_DIR,
    ROBUSTCHECK_SHUTDOWN_GRACE_MS: "300",
    ROBUSTCHECK_BODY_TIMEOUT_MS: "60000",
  });
  const [image] = await loadFixtureImages("fashion", 1);
  const before = await metricValue(server.url, RUNS);
  const running = fetch(`${server.url}/v1/models/fashion-cnn/check`, multipartRequest(image.bytes, HEAVY));
  await waitFor("the check to run", async () => (await metricValue(server.url, RUNS)) > before + 3);
  const upload = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const head = "POST /v1/models/fashion-cnn/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n" +
    "Content-Length: 100000\r\n\r\n\x89PNG";
  await upload.write(new TextEncoder().encode(head));
  await new Promise((r) => setTimeout(r, 200));
  const stopped = server.shutdown();
  const response = await running;
  assert.equal(response.status, 503);
  assert.equal((await errorOf(response)).code, "shutting_down");
  const buffer = new Uint8Array(4096);
  const n = await upload.read(buffer);
  assert.match(new TextDecoder().decode(buffer.subarray(0, n ?? 0)), /^HTTP\/1\.1 503[\s\S]*shutting_down/);
  upload.close();
  await stopped;
  await assert.rejects(fetch(`${server.url}/healthz`), "no longer accepting");
});

Deno.test("lifecycle: SIGTERM stops `deno task start` with exit code 0", async () => {
  const models = await fixtureModelsDir("fashion-linear");
  const data = await freshDataDir();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../main.ts", import.meta.url).pathname],
    env: {
      PORT: "0",
      ROBUSTCHECK_MODELS_DIR: models,
      ROBUSTCHECK_BACKEND: "wasm",
      ROBUSTCHECK_THREADS: "1",
      ROBUSTCHECK_DATA_DIR: data,
    },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    let listening: { url: string; access: string } | undefined;
    while (!listening) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`exited before listening: ${text}`);
      text += value;
      const line = text.split("\n").find((l) => l.includes('"msg":"listening"'));
      if (line) listening = JSON.parse(line);
    }
    assert.match(listening.access, /loopback clients only/);
    assert.equal((await fetch(`${listening.url}/healthz`)).status, 200);
    child.kill("SIGTERM");
    const rest = (async () => {
      while (!(await lines.read()).done) { /* drain */ }
    })();
    const status = await child.status;
    await rest;
    assert.equal(status.code, 0);
  } finally {
    await Deno.remove(models, { recursive: true });
    await Deno.remove(data, { recursive: true });
  }
});
