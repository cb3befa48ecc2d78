import assert from "node:assert/strict";
import { createRng } from "../../kernels/rng.ts";
import { randomStartL2, randomStartLinf } from "../../kernels/norms.ts";
import type { Classifier } from "../model/classifier.ts";
import { pgd, type PgdOptions } from "./pgd.ts";
import { randomLinearSoftmax } from "./testdata/linear_softmax.ts";

/** Keeps the pixels of the first gradient call: iterate 0 of every row. */
function firstGradientBatch(model: Classifier): { model: Classifier; first: () => Float32Array } {
  let first: Float32Array | null = null;
  return {
    first: () => first!,
    model: {
      ...model,
      gradient(pixels, batch, labels, loss) {
        first ??= pixels.slice();
        return model.gradient(pixels, batch, labels, loss);
      },
    },
  };
}

const size = 9;
const images = Float32Array.from({ length: 2 * size }, (_, i) => 0.2 + 0.6 * ((i * 5) % 9) / 8);
const restarts = 4;
const options: PgdOptions = {
  norm: "linf",
  eps: 0.1,
  alpha: 0.02,
  steps: 1,
  randomStart: true,
  restarts,
  loss: "ce",
  seed: 99,
  labels: [0, 1],
};

/** Image i, restart r is row i·restarts + r: each row holds its image. */
function tiled(): Float32Array {
  const out = new Float32Array(2 * restarts * size);
  for (let row = 0; row < 2 * restarts; row++) {
    out.set(images.subarray(Math.floor(row / restarts) * size, (Math.floor(row / restarts) + 1) * size), row * size);
  }
  return out;
}

function distinctRows(x: Float32Array): number {
  const rows = new Set<string>();
  for (let r = 0; r < x.length / size; r++) rows.add(x.subarray(r * size, (r + 1) * size).join(","));
  return rows.size;
}

for (const norm of ["linf", "l2"] as const) {
  Deno.test(`pgd ${norm}: every restart starts from its own noise, drawn in row order from one stream`, async () => {
    const linear = randomLinearSoftmax({ seed: 5, classes: 3, channels: 1, height: 3, width: 3, scale: 0.1 });
    const { model, first } = firstGradientBatch(linear);
    await pgd(model, images, { ...options, norm, eps: norm === "linf" ? 0.1 : 0.3 });
    const starts = first();
    assert.equal(starts.length, 2 * restarts * size);
    assert.equal(distinctRows(starts), 2 * restarts, "restarts of one image must not share their start");
    const rng = createRng(options.seed);
    const expected = norm === "linf"
      ? randomStartLinf(tiled(), { eps: 0.1, rng: rng.next })
      : randomStartL2(tiled(), { eps: 0.3, rowSize: size, rng: rng.next });
    assert.deepEqual(starts, expected);
  });
}

Deno.test("pgd: on failure the reported restart is the one whose final iterate gives the label the least probability", async () => {
  const linear = randomLinearSoftmax({ seed: 8, classes: 3, channels: 1, height: 3, width: 3, scale: 1 });
  const x0 = images.slice(0, size);
  const clean = Array.from(await linear.logits(x0, 1));
  const label = clean.indexOf(Math.max(...clean));
  // Only the final forward (t = steps) goes through logits(); keep its rows and outputs.
  let finals: { pixels: Float32Array; logits: Float32Array } | null = null;
  const model: Classifier = {
    ...linear,
    async logits(pixels, batch) {
      const logits = await linear.logits(pixels, batch);
      finals = { pixels: pixels.slice(), logits };
      return logits;
    },
  };
  const restarts = 5;
  const [r] = await pgd(model, x0, { ...options, eps: 0.02, alpha: 0.005, steps: 2, restarts, labels: [label] });
  assert.equal(r.success, false, `label ${label} of logits ${clean} must survive ε = 0.02`);
  const { pixels, logits } = finals!;
  const pLabel = Array.from({ length: restarts }, (_, k) => {
    const z = Array.from(logits.subarray(3 * k, 3 * k + 3));
    const m = Math.max(...z);
    return Math.exp(z[label] - m) / z.reduce((s, v) => s + Math.exp(v - m), 0);
  });
  const lowest = pLabel.indexOf(Math.min(...pLabel));
  assert.notEqual(lowest, pLabel.indexOf(Math.max(...pLabel)));
  assert.equal(r.restart, lowest);
  assert.deepEqual(r.adversarialPixels, pixels.slice(lowest * size, (lowest + 1) * size));
});
