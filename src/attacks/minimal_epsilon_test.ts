import assert from "node:assert/strict";
import { countingClassifier, forwardEquivalents } from "./cost.ts";
import { estimateMinimalEpsilonCost, minimalEpsilon, type MinimalEpsilonOptions } from "./minimal_epsilon.ts";
import { createLinearSoftmax } from "./testdata/linear_softmax.ts";

/**
 * Two classes on 1×2×2 images: z0 − z1 = m − w·x. From x0 (away from the [0,1] edges) untargeted
 * L∞ PGD reaches the best corner x0 + ε·sign(w) within ⌈1/alphaFactor⌉ steps, so the attack breaks
 * label 0 exactly when ε > ε* = (m − w·x0) / ‖w‖₁.
 */
const w = [1, -2, 0.5, 1.5];
const m = 1.185;
const model = () =>
  createLinearSoftmax({
    weights: Float64Array.from([0, 0, 0, 0, ...w]),
    bias: Float64Array.from([m, 0]),
    channels: 1,
    height: 2,
    width: 2,
  });
const l1 = w.reduce((s, v) => s + Math.abs(v), 0);
const radius = (x0: number[]) => (m - x0.reduce((s, v, i) => s + v * w[i], 0)) / l1;

const options: Omit<MinimalEpsilonOptions, "labels"> = {
  low: 0,
  high: 0.4,
  bisectionSteps: 10,
  steps: 8,
  alphaFactor: 0.25,
  randomStart: false,
  seed: 0,
};

const images = [
  [0.5, 0.5, 0.5, 0.5],
  [0.45, 0.45, 0.45, 0.45],
  [0.4, 0.4, 0.4, 0.4],
  [1, 0, 1, 1], // w·x = 3 > m: already class 1
  [0, 1, 0, 0], // ε* > high
];

Deno.test("minimalEpsilon brackets the analytic radius, grows with it, and covers all three outcomes", async () => {
  const { classifier, evaluations } = countingClassifier(model());
  const results = await minimalEpsilon(classifier, Float32Array.from(images.flat()), {
    ...options,
    labels: [0, 0, 0, 0, 0],
  });
  const width = (options.high - options.low) / 2 ** options.bisectionSteps;
  for (let i = 0; i < 3; i++) {
    const r = results[i];
    assert.ok(r.broken);
    const star = radius(images[i]);
    const [lo, hi] = r.bounds;
    assert.equal(r.epsilon, hi);
    assert.ok(lo <= star + 1e-6 && star - 1e-6 <= hi, `ε* = ${star} outside [${lo}, ${hi}]`);
    assert.ok(Math.abs(hi - lo - width) < 1e-15);
  }
  const eps = results.slice(0, 3).map((r) => r.epsilon as number);
  assert.ok(eps[0] < eps[1] && eps[1] < eps[2], `not increasing: ${eps}`);
  assert.deepEqual(results[3], {
    broken: true,
    epsilon: 0,
    bounds: [0, 0],
    evaluations: { forwardRows: 1, gradientRows: 0 },
  });
  assert.deepEqual(results[4], {
    broken: false,
    epsilon: null,
    bounds: [0.4, null],
    evaluations: { forwardRows: 2, gradientRows: 8 },
  });
  const bound = estimateMinimalEpsilonCost({ images: 1, bisectionSteps: 10, steps: 8 });
  let total = 0;
  for (const r of results) {
    assert.ok(forwardEquivalents(r.evaluations) <= bound);
    total += forwardEquivalents(r.evaluations);
  }
  assert.equal(total, forwardEquivalents(evaluations));
});

Deno.test("minimalEpsilon: batching does not change a single image's answer; random starts are seeded", async () => {
  const all = await minimalEpsilon(model(), Float32Array.from(images.flat()), { ...options, labels: [0, 0, 0, 0, 0] });
  for (let i = 0; i < images.length; i++) {
    const [one] = await minimalEpsilon(model(), Float32Array.from(images[i]), { ...options, labels: [0] });
    assert.deepEqual(one, all[i]);
  }
  const random = { ...options, randomStart: true, seed: 17, labels: [0, 0, 0] };
  const x = Float32Array.from(images.slice(0, 3).flat());
  assert.deepEqual(await minimalEpsilon(model(), x, random), await minimalEpsilon(model(), x, random));
});

Deno.test("minimalEpsilon: rejects an empty or inverted range", async () => {
  const x = Float32Array.from(images[0]);
  await assert.rejects(minimalEpsilon(model(), x, { ...options, low: 0.4, high: 0.4, labels: [0] }), RangeError);
  await assert.rejects(minimalEpsilon(model(), x, { ...options, bisectionSteps: 1.5, labels: [0] }), RangeError);
});
