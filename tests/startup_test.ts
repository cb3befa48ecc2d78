import assert from "node:assert/strict";
import { startTestServer } from "./support/server.ts";

Deno.test("startup: with no model loaded the process serves /healthz and a 503 /readyz that says why", async () => {
  const emptyModels = await Deno.makeTempDir({ prefix: "robustcheck-no-models-" });
  const server = await startTestServer({
    ROBUSTCHECK_MODELS_DIR: emptyModels,
    ROBUSTCHECK_BACKEND: "wasm",
    ROBUSTCHECK_THREADS: "1",
  });
  try {
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const response = await fetch(`${server.url}/readyz`);
    const ready = await response.json();
    assert.equal(response.status, 503);
    assert.deepEqual(ready.models, []);
    assert.match(ready.reason, /^no model loaded/);
    assert.equal(ready.backend, "wasm");
    assert.equal(ready.threads, 1);
    assert.equal(ready.backendReason, "ROBUSTCHECK_BACKEND=wasm, ROBUSTCHECK_THREADS=1: wasm with 1 thread started");
    assert.deepEqual(ready.backendFallbacks, []);
  } finally {
    await server.shutdown();
    await Deno.remove(emptyModels, { recursive: true });
  }
});

Deno.test("startup: a model that fails to load is named in /readyz, which says why it is not ready", async () => {
  const models = await Deno.makeTempDir({ prefix: "robustcheck-bad-model-" });
  await Deno.mkdir(`${models}/broken`);
  await Deno.copyFile("models/fashion-cnn/manifest.json", `${models}/broken/manifest.json`);
  await Deno.writeFile(`${models}/broken/model.onnx`, new Uint8Array([1, 2, 3]));
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: models, ROBUSTCHECK_THREADS: "1" });
  try {
    const response = await fetch(`${server.url}/readyz`);
    const ready = await response.json();
    assert.equal(response.status, 503, JSON.stringify(ready));
    assert.equal(ready.failures.length, 1);
    assert.equal(ready.reason, "no model loaded: all 1 failed (see failures)");
  } finally {
    await server.shutdown();
    await Deno.remove(models, { recursive: true });
  }
});
