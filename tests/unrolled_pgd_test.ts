/**
 * PGD L∞ through the unrolled step graph (chunks of k steps in one session run, src/attacks/engine.ts) gives the
 * same results as the single-step loop, on the shipped models and real images, per backend: same iterates, same
 * first adversarial iterate per row, same restarts and seeds; and the chunks are really run.
 */
import assert from "node:assert/strict";
import { minimalEpsilon } from "../src/attacks/minimal_epsilon.ts";
import { pgd, type PgdOptions } from "../src/attacks/pgd.ts";
import { decodeImage } from "../src/intake/decode.ts";
import { toModelPixels } from "../src/intake/to_pixels.ts";
import type { Classifier } from "../src/model/classifier.ts";
import { parseManifest } from "../src/registry/load_manifest.ts";
import { loadClassifier, type OnnxClassifier } from "../src/runtime/onnx_classifier.ts";
import type { BackendName } from "../src/runtime/protocol.ts";
import { startWorkerPool } from "../src/runtime/worker_pool.ts";
import { loadFixtureImages, MODELS_DIR } from "./support/server.ts";

const MODELS = [
  { id: "fashion-cnn", set: "fashion" },
  { id: "fashion-cnn-robust", set: "fashion" },
  { id: "fashion-rgb", set: "fashion-rgb" },
] as const;

/** The classifier with its unrolled runs counted (and an optional hook before each). */
function counting(
  c: OnnxClassifier,
  before?: () => void,
): { classifier: Classifier; runs: () => number; batches: number[] } {
  const unrolled = c.unrolledLinfSteps;
  assert.ok(unrolled, `${c.sha256} on ${c.backend} has an unrolled step graph`);
  let runs = 0;
  const batches: number[] = [];
  const classifier: Classifier = {
    ...c,
    unrolledLinfSteps: {
      ...unrolled,
      run: (request) => (runs++, batches.push(request.batch), before?.(), unrolled.run(request)),
    },
  };
  return { classifier, runs: () => runs, batches };
}

/** Concatenated pixels of `count` fixture images and their labels. */
async function images(set: "fashion" | "fashion-rgb", manifest: OnnxClassifier["manifest"], count: number) {
  const fixtures = await loadFixtureImages(set, count);
  const size = manifest.input.channels * manifest.input.height * manifest.input.width;
  const pixels = new Float32Array(count * size);
  for (const [i, f] of fixtures.entries()) {
    pixels.set(toModelPixels(await decodeImage(f.bytes, 1e6), manifest.input).pixels, i * size);
  }
  return { pixels, labels: fixtures.map((f) => f.label), size };
}

for (const backend of ["wasm", "native"] as BackendName[]) {
  Deno.test(`unrolled PGD L∞ equals the single-step loop on the shipped models (${backend})`, async (t) => {
    const engine = await startWorkerPool({ backend, threads: 1, workers: 1 });
    try {
      for (const { id, set } of MODELS) {
        await t.step(id, async () => {
          const manifest = parseManifest(await Deno.readTextFile(`${MODELS_DIR}/${id}/manifest.json`), id);
          const modelBytes = await Deno.readFile(`${MODELS_DIR}/${id}/model.onnx`);
          const loop = await loadClassifier({ engine, manifest, modelBytes, sha256: id, unroll: false });
          const fused = await loadClassifier({ engine, manifest, modelBytes, sha256: id });
          try {
            assert.equal(loop.unrolledLinfSteps, undefined);
            assert.equal(fused.gradientInfo.unrolled?.steps, fused.unrolledLinfSteps?.steps);
            const { pixels, labels, size } = await images(set, manifest, 4);
            const grey = manifest.input.channels === 1;
            const base: PgdOptions = {
              norm: "linf",
              eps: grey ? 0.1 : 8 / 255,
              alpha: (2.5 * (grey ? 0.1 : 8 / 255)) / 20,
              steps: 20,
              randomStart: false,
              restarts: 1,
              loss: "ce",
              seed: 5,
              labels: [],
            };
            const cases: { name: string; options: PgdOptions; images: number[] }[] = [
              // The per-image check's default probe, image by image.
              ...[0, 1, 2, 3].map((i) => ({ name: `default, image ${i}`, options: base, images: [i] })),
              // Small ε: nothing breaks, every chunk runs to the end.
              { name: "small ε", options: { ...base, eps: 0.004, alpha: 0.0005 }, images: [0] },
              // Large steps: success inside a chunk; 7 steps = one chunk and a loop tail.
              { name: "large α, 7 steps", options: { ...base, eps: 0.3, alpha: 0.05, steps: 7 }, images: [1] },
              {
                name: "targeted, 3 random restarts, per-image seeds",
                options: {
                  ...base,
                  steps: 12,
                  restarts: 3,
                  randomStart: true,
                  seeds: [9],
                  targets: [(labels[2] + 1) % 10],
                },
                images: [2],
              },
              { name: "2 images × 2 restarts", options: { ...base, restarts: 2, randomStart: true }, images: [0, 3] },
            ];
            let earlyInsideChunk = false;
            for (const c of cases) {
              const x = new Float32Array(c.images.length * size);
              c.images.forEach((i, k) => x.set(pixels.subarray(i * size, (i + 1) * size), k * size));
              const options = { ...c.options, labels: c.images.map((i) => labels[i]) };
              const counted = counting(fused);
              const expected = await pgd(loop, x, options);
              const actual = await pgd(counted.classifier, x, options);
              assert.deepEqual(actual, expected, c.name);
              assert.ok(counted.runs() > 0, `${c.name}: the unrolled graph ran`);
              earlyInsideChunk ||= actual.some((r) => r.success && r.iterations % fused.unrolledLinfSteps!.steps !== 0);
            }
            assert.ok(earlyInsideChunk, "some attack stopped at an iterate inside a chunk");

            // Minimal ε (bisection over PGD L∞, 10 steps) on all four images as one batch.
            const counted = counting(fused);
            const minimal = {
              labels,
              low: 0,
              high: grey ? 0.5 : 0.25,
              bisectionSteps: 5,
              steps: 10,
              alphaFactor: 0.25,
            };
            const minimalOptions = { ...minimal, randomStart: false, seed: 1 };
            assert.deepEqual(
              await minimalEpsilon(counted.classifier, pixels, minimalOptions),
              await minimalEpsilon(loop, pixels, minimalOptions),
            );
            assert.ok(counted.runs() > 0, "minimal ε ran the unrolled graph");

            // Not the graph's loss, or L2: the loop, and the same results.
            const other = counting(fused);
            for (
              const [options, x] of [
                [{ ...base, loss: "margin", labels: [labels[0]] }, pixels.subarray(0, size)],
                [{ ...base, norm: "l2", eps: 1, alpha: 0.1, labels: [labels[0]] }, pixels.subarray(0, size)],
              ] as [PgdOptions, Float32Array][]
            ) {
              assert.deepEqual(await pgd(other.classifier, x, options), await pgd(loop, x, options));
            }
            assert.equal(other.runs(), 0, "the loop served them");

            // More rows than maxRows: the loop until enough rows have left the batch.
            const maxRows = fused.unrolledLinfSteps!.maxRows;
            const many = Array.from({ length: maxRows + 2 }, (_, k) => labels[k % 4]);
            const manyPixels = new Float32Array(many.length * size);
            many.forEach((_, k) => manyPixels.set(pixels.subarray((k % 4) * size, ((k % 4) + 1) * size), k * size));
            const wide = counting(fused);
            assert.deepEqual(
              await pgd(wide.classifier, manyPixels, { ...base, labels: many }),
              await pgd(loop, manyPixels, { ...base, labels: many }),
            );
            assert.ok(wide.batches.every((n) => n <= maxRows), `unrolled batches ${wide.batches} ≤ ${maxRows}`);

            // Cancellation between chunks: aborted during the first run, no second run is sent.
            const controller = new AbortController();
            const cancelled = counting(fused, () => controller.abort(new Error("cancelled")));
            const small = { ...base, eps: 0.004, alpha: 0.0005, labels: [labels[0]], signal: controller.signal };
            await assert.rejects(pgd(cancelled.classifier, pixels.subarray(0, size), small), /cancelled/);
            assert.equal(cancelled.runs(), 1);
          } finally {
            await loop.release();
            await fused.release();
          }
        });
      }
    } finally {
      engine.close();
    }
  });
}
