import assert from "node:assert/strict";
import { join } from "node:path";
import { freshDataDir } from "../src/storage/testing.ts";
import { copyModel, imageRequest, loadFixtureImages, MODELS_DIR, startMain } from "./support/server.ts";

Deno.test("registry: a broken model folder is reported by file and field, and the others serve", async () => {
  const dir = await Deno.makeTempDir({ prefix: "robustcheck-models-" });
  const data = await freshDataDir();
  const source = join(MODELS_DIR, "fashion-cnn");
  await copyModel(source, join(dir, "good"));
  await copyModel(source, join(dir, "bad-manifest"), (m) => {
    m.id = "bad-manifest";
    (m.input as Record<string, unknown>).layout = "CHW";
  });
  await copyModel(source, join(dir, "wrong-input-name"), (m) => {
    m.id = "wrong-input-name";
    (m.input as Record<string, unknown>).name = "pixels_in";
  });
  await copyModel(source, join(dir, "wrong-label-count"), (m) => {
    m.id = "wrong-label-count";
    m.labels = ["a", "b", "c"];
  });
  const server = await startMain({ ROBUSTCHECK_MODELS_DIR: dir, ROBUSTCHECK_DATA_DIR: data });
  try {
    const log = server.lines.join("\n");
    assert.match(log, /bad-manifest\/manifest\.json: input\.layout/);
    assert.match(log, /wrong-input-name\/manifest\.json: input\.name/);
    assert.match(log, /wrong-label-count\/manifest\.json: labels/);
    const ready = await (await fetch(`${server.url}/readyz`)).json();
    assert.equal(ready.status, "degraded");
    assert.deepEqual(ready.models.map((m: { id: string }) => m.id), ["fashion-cnn"]);
    assert.equal(ready.failures.length, 3);
    assert.equal(ready.backend, "wasm");
    const [image] = await loadFixtureImages("fashion", 1);
    const response = await fetch(`${server.url}/v1/models/fashion-cnn/predict`, imageRequest(image.bytes));
    assert.equal(response.status, 200);
    assert.equal((await fetch(`${server.url}/v1/models/bad-manifest`)).status, 404);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(data, { recursive: true });
  }
});

Deno.test("registry: model info carries sha256 of the ONNX file, input spec and backend", async () => {
  const data = await freshDataDir();
  const server = await startMain({ ROBUSTCHECK_MODELS_DIR: MODELS_DIR, ROBUSTCHECK_DATA_DIR: data });
  try {
    const { models } = await (await fetch(`${server.url}/v1/models`)).json();
    const ids = models.map((m: { id: string }) => m.id).sort();
    assert.deepEqual(ids, ["fashion-cnn", "fashion-cnn-robust", "fashion-rgb"]);
    for (const m of models) {
      const bytes = await Deno.readFile(join(MODELS_DIR, m.id, "model.onnx"));
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
      assert.equal(m.sha256, Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""));
      assert.equal(m.backend, "wasm");
      assert.equal(m.gradient.mode, "exact");
    }
    const one = await (await fetch(`${server.url}/v1/models/fashion-rgb`)).json();
    assert.deepEqual(one.input.mean.length, 3);
    const spec = await (await fetch(`${server.url}/openapi.json`)).json();
    for (
      const path of [
        "/v1/models",
        "/v1/models/{id}",
        "/v1/models/{id}/predict",
        "/v1/models/{id}/check",
        "/v1/models/{id}/calibrate",
        "/healthz",
        "/readyz",
      ]
    ) {
      assert.ok(spec.paths[path], `openapi lacks ${path}`);
    }
    const docs = await fetch(`${server.url}/docs`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /openapi\.json/);
  } finally {
    await server.stop();
    await Deno.remove(data, { recursive: true });
  }
});
