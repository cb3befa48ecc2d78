import assert from "node:assert/strict";
import { imageRequest, jsonRequest, loadFixtureImages, MODELS_DIR, startTestServer } from "./support/server.ts";

const hasAdapter = Boolean(
  await (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu?.requestAdapter(),
);

const PROBES = {
  squeeze: false,
  randomization: false,
  minimalEpsilon: false,
  fgsm: { eps: [0.05, 0.1] },
  pgd: [{ norm: "linf", eps: 0.1, steps: 10 }],
};

interface BackendRun {
  backend: string;
  /** Softmax probabilities per image (10 classes). */
  rows: number[][];
  /** FGSM/PGD outcome per image and probe: success and adversarial class. */
  probes: string[][];
}

async function runOn(backend: string, images: Uint8Array[]): Promise<BackendRun> {
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: MODELS_DIR, ROBUSTCHECK_BACKEND: backend });
  try {
    const rows: number[][] = [];
    const probes: string[][] = [];
    for (const bytes of images) {
      const r = await fetch(`${server.url}/v1/models/fashion-cnn/predict?topK=10`, imageRequest(bytes));
      const body = await r.json();
      const p = new Array(10).fill(0);
      for (const t of body.prediction.topK) p[t.index] = t.probability;
      rows.push(p);
      const c = await fetch(
        `${server.url}/v1/models/fashion-cnn/check`,
        jsonRequest({ image: bytes.toBase64(), options: PROBES }),
      );
      const report = await c.json();
      probes.push(
        report.probes.map((q: { success: boolean; adversarial: { index: number } }) =>
          `${q.success}:${q.adversarial.index}`
        ),
      );
    }
    const ready = await (await fetch(`${server.url}/readyz`)).json();
    return { backend: ready.backend, rows, probes };
  } finally {
    await server.shutdown();
  }
}

function maxDiff(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((row, i) => row.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i][j])))));
  return m;
}

Deno.test("backends: native and WebGPU agree with WASM on probabilities and on gradient-based probes", async (t) => {
  const images = (await loadFixtureImages("fashion", 6)).map((i) => i.bytes);
  const wasm = await runOn("wasm", images);
  assert.equal(wasm.backend, "wasm");
  await t.step("native (onnxruntime-node)", async () => {
    const native = await runOn("native", images);
    assert.equal(native.backend, "native");
    assert.ok(maxDiff(native.rows, wasm.rows) < 1e-5, `max |Δp| ${maxDiff(native.rows, wasm.rows)}`);
    assert.deepEqual(native.probes, wasm.probes);
  });
  await t.step({
    name: "webgpu (software adapter; MaxPool gradient by equality mask)",
    ignore: !hasAdapter,
    fn: async () => {
      const gpu = await runOn("webgpu", images);
      assert.equal(gpu.backend, "webgpu");
      assert.ok(maxDiff(gpu.rows, wasm.rows) < 1e-4, `max |Δp| ${maxDiff(gpu.rows, wasm.rows)}`);
      assert.deepEqual(gpu.probes, wasm.probes);
    },
  });
  await t.step("auto picks native where the addon loads", async () => {
    const auto = await runOn("auto", images.slice(0, 1));
    assert.equal(auto.backend, "native");
  });
});
