import assert from "node:assert/strict";
import { createRng } from "../../kernels/rng.ts";
import { drawResizePad, resizePadForward, type ResizePadRange } from "../../kernels/resize.ts";
import { argmax } from "../../kernels/softmax.ts";
import { eotPgd, type EotPgdOptions } from "./eot_pgd.ts";
import { createLinearSoftmax } from "./testdata/linear_softmax.ts";

const shape = { channels: 1 as const, height: 6, width: 6 };
const d = 36;
const range: ResizePadRange = { minSize: 5, maxSize: 7, canvas: 6 };

/**
 * z0 = 19 (the label's class), z1 = Σx − 1 (the target), z2 = Σx: class 2 always beats the target,
 * and beats the label once the pixel mass exceeds 19. Descending the target's loss raises Σx, so
 * the attack ends misclassified as 2 on most transforms, but never as the target.
 */
const model = () =>
  createLinearSoftmax({
    weights: Float64Array.from({ length: 3 * d }, (_, i) => (i < d ? 0 : 1)),
    bias: Float64Array.from([19, -1, 0]),
    ...shape,
  });

const options: EotPgdOptions = {
  norm: "linf",
  eps: 0.3,
  alpha: 0.05,
  steps: 10,
  randomStart: false,
  loss: "ce",
  seed: 3,
  labels: [0],
  targets: [1],
  samples: 4,
  evalDraws: 16,
  transform: range,
};

Deno.test("eotPgd targeted: only predictions of the target count as fooled, not any misclassification", async () => {
  const x0 = new Float32Array(d).fill(0.5);
  const linear = model();
  assert.equal(argmax(await linear.logits(x0, 1), { rows: 1, cols: 3 })[0], 0);
  const [r] = await eotPgd(linear, x0, options);
  assert.equal(r.targeted, true);
  assert.equal(r.adversarial.index, 2, "the attack should end on the third class");
  // The alternative count (≠ label) would be large here: most transforms of the result predict 2.
  const rng = createRng(1234);
  const draws = 32;
  const transformed = new Float32Array(draws * d);
  for (let k = 0; k < draws; k++) {
    transformed.set(resizePadForward(r.adversarialPixels, { n: 1, ...shape }, drawResizePad(rng.next, range)), k * d);
  }
  const predicted = argmax(await linear.logits(transformed, draws), { rows: draws, cols: 3 });
  assert.ok(predicted.filter((p) => p !== 0).length > draws / 2, `only ${predicted.join(",")} misclassified`);
  assert.ok(predicted.every((p) => p !== 1));
  assert.equal(r.randomization.fooledFraction, 0);
  assert.equal(r.success, false);
});

Deno.test("eotPgd: success means fooledFraction > 0.5, so exactly half the draws is not a success", async () => {
  // z0 = 21: resizes to 5×5 keep the mass of the result below 21 (not fooled), 6×6 ones do not.
  const linear = createLinearSoftmax({
    weights: Float64Array.from({ length: 3 * d }, (_, i) => (i < d ? 0 : 1)),
    bias: Float64Array.from([21, -1, 0]),
    ...shape,
  });
  const x0 = new Float32Array(d).fill(0.5);
  const fractions = new Set<number>();
  for (let seed = 0; seed < 24; seed++) {
    const [r] = await eotPgd(linear, x0, { ...options, targets: undefined, seed, evalDraws: 2 });
    fractions.add(r.randomization.fooledFraction);
    assert.equal(r.success, r.randomization.fooledFraction > 0.5, `seed ${seed}`);
  }
  assert.ok(fractions.has(0.5) && fractions.has(1), `fractions seen: ${[...fractions]}`);
});
