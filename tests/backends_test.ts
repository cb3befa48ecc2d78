import assert from "node:assert/strict";
import { cosineSimilarity } from "../kernels/norms.ts";
import { decodeImage } from "../src/intake/decode.ts";
import { toModelPixels } from "../src/intake/to_pixels.ts";
import { parseManifest } from "../src/registry/load_manifest.ts";
import { loadClassifier } from "../src/runtime/onnx_classifier.ts";
import type { BackendChoice } from "../src/runtime/protocol.ts";
import { startWorkerPool } from "../src/runtime/worker_pool.ts";
import { imageRequest, loadFixtureImages, MODELS_DIR, startTestServer } from "./support/server.ts";

const hasAdapter = Boolean(
  await (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu?.requestAdapter(),
);

/** Softmax probabilities per image, through the HTTP API on the given backend. */
async function probabilitiesOver(
  backend: string,
  images: Uint8Array[],
): Promise<{ backend: string; threads: number; rows: number[][] }> {
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: MODELS_DIR, ROBUSTCHECK_BACKEND: backend });
  try {
    const rows: number[][] = [];
    for (const bytes of images) {
      const r = await fetch(`${server.url}/v1/models/fashion-cnn/predict?topK=10`, imageRequest(bytes));
      const body = await r.json();
      const p = new Array(10).fill(0);
      for (const t of body.prediction.topK) p[t.index] = t.probability;
      rows.push(p);
    }
    const ready = await (await fetch(`${server.url}/readyz`)).json();
    return { backend: ready.backend, threads: ready.threads, rows };
  } finally {
    await server.shutdown();
  }
}

/** Exact gradients of every loss for every image and shipped model, on one backend. */
async function gradientsOn(backend: BackendChoice, images: Uint8Array[]): Promise<Float32Array[]> {
  const engine = await startWorkerPool({ backend, threads: 2, workers: 1 });
  const out: Float32Array[] = [];
  try {
    for (const id of ["fashion-cnn", "fashion-rgb"]) {
      const manifest = parseManifest(await Deno.readTextFile(`${MODELS_DIR}/${id}/manifest.json`), id);
      const modelBytes = await Deno.readFile(`${MODELS_DIR}/${id}/model.onnx`);
      const classifier = await loadClassifier({ engine, manifest, modelBytes, sha256: id });
      assert.equal(classifier.gradientMode, "exact");
      for (const bytes of images) {
        const pixels = toModelPixels(await decodeImage(bytes, 1e6), manifest.input).pixels;
        for (const loss of ["ce", "margin", "dlr"] as const) {
          out.push((await classifier.gradient(pixels, 1, new Int32Array([2]), loss)).grad);
        }
      }
      await classifier.release();
    }
  } finally {
    engine.close();
  }
  return out;
}

function maxDiff(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((row, i) => row.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i][j])))));
  return m;
}

/** Every gradient pair: max |Δ| ≤ 1e-3 × max |g| and cosine ≥ 0.9999. */
function assertSameGradients(actual: Float32Array[], expected: Float32Array[]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((g, k) => {
    const e = expected[k];
    let diff = 0, scale = 0;
    for (let i = 0; i < e.length; i++) {
      diff = Math.max(diff, Math.abs(g[i] - e[i]));
      scale = Math.max(scale, Math.abs(e[i]));
    }
    assert.ok(diff <= 1e-3 * scale, `gradient ${k}: max |Δ| ${diff} vs max |g| ${scale}`);
    const cosine = cosineSimilarity(g, e);
    assert.ok(cosine >= 0.9999, `gradient ${k}: cosine ${cosine}`);
  });
}

Deno.test("backends: native and WebGPU agree with WASM on probabilities and on exact gradients", async (t) => {
  const images = (await loadFixtureImages("fashion", 6)).map((i) => i.bytes);
  const wasm = await probabilitiesOver("wasm", images);
  assert.equal(wasm.backend, "wasm");
  assert.equal(wasm.threads, 2);
  const wasmGradients = await gradientsOn("wasm", images.slice(0, 3));
  await t.step("native (onnxruntime-node)", async () => {
    const native = await probabilitiesOver("native", images);
    assert.equal(native.backend, "native");
    assert.ok(maxDiff(native.rows, wasm.rows) < 1e-5, `max |Δp| ${maxDiff(native.rows, wasm.rows)}`);
    assertSameGradients(await gradientsOn("native", images.slice(0, 3)), wasmGradients);
  });
  await t.step({
    name: "webgpu (software adapter; MaxPool gradient by equality mask)",
    ignore: !hasAdapter,
    fn: async () => {
      const gpu = await probabilitiesOver("webgpu", images);
      assert.equal(gpu.backend, "webgpu");
      assert.equal(gpu.threads, 1, "WebGPU's CPU side runs single-threaded in Deno");
      assert.ok(maxDiff(gpu.rows, wasm.rows) < 1e-4, `max |Δp| ${maxDiff(gpu.rows, wasm.rows)}`);
      assertSameGradients(await gradientsOn("webgpu", images.slice(0, 3)), wasmGradients);
    },
  });
  await t.step("auto picks native where the addon loads", async () => {
    const auto = await probabilitiesOver("auto", images.slice(0, 1));
    assert.equal(auto.backend, "native");
  });
});
