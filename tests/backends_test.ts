import assert from "node:assert/strict";
import { loadFixtureImages, MODELS_DIR, startTestServer } from "./support/server.ts";
import { imageRequest } from "./support/server.ts";

const hasAdapter = Boolean(
  await (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu?.requestAdapter(),
);

async function probabilities(
  env: Record<string, string>,
  images: Uint8Array[],
): Promise<{ backend: string; rows: number[][] }> {
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: MODELS_DIR, ...env });
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
    return { backend: ready.backend, rows };
  } finally {
    await server.shutdown();
  }
}

function maxDiff(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((row, i) => row.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i][j])))));
  return m;
}

Deno.test("backends: native and WebGPU give the same probabilities as WASM", async (t) => {
  const images = (await loadFixtureImages("fashion", 8)).map((i) => i.bytes);
  const wasm = await probabilities({ ROBUSTCHECK_BACKEND: "wasm" }, images);
  assert.equal(wasm.backend, "wasm");
  await t.step("native (onnxruntime-node)", async () => {
    const native = await probabilities({ ROBUSTCHECK_BACKEND: "native" }, images);
    assert.equal(native.backend, "native");
    assert.ok(maxDiff(native.rows, wasm.rows) < 1e-5, `max |Δp| ${maxDiff(native.rows, wasm.rows)}`);
  });
  await t.step({
    name: "webgpu (software adapter)",
    ignore: !hasAdapter,
    fn: async () => {
      const gpu = await probabilities({ ROBUSTCHECK_BACKEND: "webgpu" }, images);
      assert.equal(gpu.backend, "webgpu");
      assert.ok(maxDiff(gpu.rows, wasm.rows) < 1e-4, `max |Δp| ${maxDiff(gpu.rows, wasm.rows)}`);
    },
  });
  await t.step("auto picks native where the addon loads", async () => {
    const auto = await probabilities({ ROBUSTCHECK_BACKEND: "auto" }, images.slice(0, 1));
    assert.equal(auto.backend, "native");
  });
});
