/**
 * `seeds` (one per image) make an image's random draws its own: its result in any batch equals
 * its result alone with `seed: seeds[i]` — which is how the single-image check calls the attacks.
 */
import assert from "node:assert/strict";
import { eotPgd } from "./eot_pgd.ts";
import { minimalEpsilon } from "./minimal_epsilon.ts";
import { pgd } from "./pgd.ts";
import { randomLinearSoftmax } from "./testdata/linear_softmax.ts";

const shape = { channels: 1 as const, height: 6, width: 6 };
const model = randomLinearSoftmax({ seed: 11, classes: 4, ...shape, scale: 1.5 });
const n = 5;
const size = 36;
const pixels = Float32Array.from({ length: n * size }, (_, i) => 0.1 + 0.8 * (((i * 37) % 101) / 100));
const seeds = [7, 1234, 99, 5, 0xdeadbeef];
const one = (i: number) => pixels.slice(i * size, (i + 1) * size);

async function labelsOf(): Promise<number[]> {
  const z = await model.logits(pixels, n);
  return Array.from({ length: n }, (_, i) => {
    const row = Array.from(z.subarray(i * 4, (i + 1) * 4));
    return row.indexOf(Math.max(...row));
  });
}

Deno.test("per-image seeds: PGD with random starts and restarts", async () => {
  const labels = await labelsOf();
  const options = {
    norm: "l2" as const,
    eps: 0.6,
    alpha: 0.1,
    steps: 8,
    randomStart: true,
    restarts: 3,
    loss: "ce" as const,
    seed: 0,
  };
  const batch = await pgd(model, pixels, { ...options, labels, seeds });
  const order = [3, 0, 4];
  const shuffled = await pgd(model, Float32Array.from(order.flatMap((i) => Array.from(one(i)))), {
    ...options,
    labels: order.map((i) => labels[i]),
    seeds: order.map((i) => seeds[i]),
  });
  for (let i = 0; i < n; i++) {
    const [alone] = await pgd(model, one(i), { ...options, labels: [labels[i]], seed: seeds[i] });
    assert.deepEqual(batch[i], alone, `image ${i}`);
  }
  order.forEach((i, k) => assert.deepEqual(shuffled[k], batch[i]));
});

Deno.test("per-image seeds: minimal ε with random starts", async () => {
  const labels = await labelsOf();
  const options = { low: 0, high: 0.5, bisectionSteps: 5, steps: 5, alphaFactor: 0.25, randomStart: true, seed: 0 };
  const batch = await minimalEpsilon(model, pixels, { ...options, labels, seeds });
  for (let i = 0; i < n; i++) {
    const [alone] = await minimalEpsilon(model, one(i), { ...options, labels: [labels[i]], seed: seeds[i] });
    assert.deepEqual({ ...batch[i], evaluations: null }, { ...alone, evaluations: null }, `image ${i}`);
  }
});

Deno.test("per-image seeds: EoT-PGD transforms and judging draws", async () => {
  const labels = await labelsOf();
  const options = {
    norm: "linf" as const,
    eps: 0.1,
    alpha: 0.03,
    steps: 4,
    randomStart: true,
    loss: "ce" as const,
    seed: 0,
    samples: 3,
    evalDraws: 7,
    transform: { minSize: 4, maxSize: 7, canvas: 6 },
  };
  const batch = await eotPgd(model, pixels, { ...options, labels, seeds });
  for (let i = 0; i < n; i++) {
    const [alone] = await eotPgd(model, one(i), { ...options, labels: [labels[i]], seed: seeds[i] });
    assert.deepEqual(batch[i], alone, `image ${i}`);
  }
  // Without per-image seeds the batch shares one stream, interleaved across images step by step.
  const shared = await eotPgd(model, pixels, { ...options, labels, seed: seeds[0] });
  assert.ok(
    shared.some((r, i) =>
      r.randomization.fooledFraction !== batch[i].randomization.fooledFraction ||
      r.adversarialPixels.some((v, j) => v !== batch[i].adversarialPixels[j])
    ),
  );
});
