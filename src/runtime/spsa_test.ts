import assert from "node:assert/strict";
import { cosineSimilarity } from "../../kernels/norms.ts";
import { decodeImage } from "../intake/decode.ts";
import { toModelPixels } from "../intake/to_pixels.ts";
import { parseManifest } from "../registry/load_manifest.ts";
import { loadClassifier } from "./onnx_classifier.ts";
import { spsaSamples } from "../model/gradient_cost.ts";
import { SPSA_DELTA, SPSA_MAX_BATCH_ROWS, spsaGradient } from "./spsa.ts";
import { startWorkerPool } from "./worker_pool.ts";

const root = new URL("../../", import.meta.url);

Deno.test("spsa: the default-budget estimate correlates with the exact gradient and is seeded", async () => {
  const engine = await startWorkerPool({ backend: "wasm", threads: 2, workers: 1 });
  try {
    const dir = new URL("models/fashion-cnn/", root);
    const manifest = parseManifest(await Deno.readTextFile(new URL("manifest.json", dir)), "manifest.json");
    const classifier = await loadClassifier({
      engine,
      manifest,
      modelBytes: await Deno.readFile(new URL("model.onnx", dir)),
      sha256: "test",
    });
    assert.equal(classifier.gradientMode, "exact");
    const size = 28 * 28;
    const options = { samples: spsaSamples(size), delta: SPSA_DELTA, maxBatchRows: SPSA_MAX_BATCH_ROWS, seed: 3 };
    const cosines: Record<"ce" | "margin" | "dlr", number[]> = { ce: [], margin: [], dlr: [] };
    for (const file of ["0000.png", "0001.png", "0002.png", "0003.png"]) {
      const bytes = await Deno.readFile(new URL(`tests/fixtures/fashion/${file}`, root));
      const pixels = toModelPixels(await decodeImage(bytes, 1e6), manifest.input).pixels;
      for (const loss of ["ce", "margin", "dlr"] as const) {
        const labels = new Int32Array([1]);
        const exact = await classifier.gradient(pixels, 1, labels, loss);
        const estimate = await spsaGradient(classifier.logits, pixels, 1, labels, loss, options);
        assert.ok(Math.abs(estimate.loss[0] - exact.loss[0]) < 1e-4 * Math.max(1, Math.abs(exact.loss[0])));
        cosines[loss].push(cosineSimilarity(estimate.grad, exact.grad));
      }
    }
    // Expected ≈ 1/√(1 + d/n) ≈ 0.63 for d = 784, n = 588. The margin loss has kinks (the runner-up
    // class can change within δ), which costs SPSA some accuracy on a few images: judge its mean;
    // DLR's sort has the same kinks.
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(Math.min(...cosines.ce) > 0.5, `ce cosines ${cosines.ce.map((c) => c.toFixed(3))}`);
    assert.ok(mean(cosines.margin) > 0.5, `margin cosines ${cosines.margin.map((c) => c.toFixed(3))}`);
    assert.ok(mean(cosines.dlr) > 0.5, `dlr cosines ${cosines.dlr.map((c) => c.toFixed(3))}`);

    const bytes = await Deno.readFile(new URL("tests/fixtures/fashion/0000.png", root));
    const pixels = toModelPixels(await decodeImage(bytes, 1e6), manifest.input).pixels;
    const a = await spsaGradient(classifier.logits, pixels, 1, new Int32Array([0]), "ce", options);
    const b = await spsaGradient(classifier.logits, pixels, 1, new Int32Array([0]), "ce", options);
    const c = await spsaGradient(classifier.logits, pixels, 1, new Int32Array([0]), "ce", { ...options, seed: 4 });
    assert.deepEqual(a.grad, b.grad);
    assert.notDeepEqual(a.grad, c.grad);
    await classifier.release();
  } finally {
    engine.close();
  }
});
