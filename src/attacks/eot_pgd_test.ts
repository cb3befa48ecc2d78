import assert from "node:assert/strict";
import { createRng } from "../../kernels/rng.ts";
import { drawResizePad, resizePadForward, type ResizePadRange } from "../../kernels/resize.ts";
import { countingClassifier, forwardEquivalents } from "./cost.ts";
import { eotGradient, eotPgd, type EotPgdOptions, estimateEotPgdCost } from "./eot_pgd.ts";
import { pgd } from "./pgd.ts";
import { randomLinearSoftmax } from "./testdata/linear_softmax.ts";

const shape = { channels: 1 as const, height: 6, width: 6 };
const range: ResizePadRange = { minSize: 4, maxSize: 7, canvas: 6 };
const model = () => randomLinearSoftmax({ seed: 24, classes: 3, ...shape, scale: 2 });
const x0 = Float32Array.from({ length: 36 }, (_, i) => 0.2 + 0.6 * ((i * 7) % 11) / 10);
const top = (z: Float32Array): number => Array.from(z).indexOf(Math.max(...z));

const base: Omit<EotPgdOptions, "labels"> = {
  norm: "linf",
  eps: 0.05,
  alpha: 0.01,
  steps: 6,
  randomStart: false,
  loss: "ce",
  seed: 5,
  samples: 4,
  evalDraws: 9,
  transform: range,
};

Deno.test("eotGradient is the gradient of the average loss over the drawn transforms", async () => {
  const linear = model();
  const label = Int32Array.of(top(await linear.logits(x0, 1)));
  const K = 5;
  const { grad } = await eotGradient(linear, K, createRng(99), range).compute(x0, 1, label, "ce");
  // Replay the same draws and differentiate L(x) = (1/K) Σ_k ce(T_k x) numerically.
  const replay = createRng(99);
  const draws = Array.from({ length: K }, () => drawResizePad(replay.next, range));
  const averageLoss = async (x: Float32Array) => {
    let s = 0;
    for (const t of draws) {
      const tx = resizePadForward(x, { n: 1, ...shape }, t);
      s += (await linear.gradient(tx, 1, label, "ce")).loss[0];
    }
    return s / K;
  };
  const dirs = createRng(3);
  for (let trial = 0; trial < 4; trial++) {
    const v = Float32Array.from({ length: 36 }, () => dirs.next() - 0.5);
    const h = 1e-2;
    const plus = Float32Array.from(x0, (xi, i) => xi + h * v[i]);
    const minus = Float32Array.from(x0, (xi, i) => xi - h * v[i]);
    const numeric = (await averageLoss(plus) - await averageLoss(minus)) / (2 * h);
    const analytic = grad.reduce((s, g, i) => s + g * v[i], 0);
    assert.ok(Math.abs(numeric - analytic) < 2e-3 * Math.max(1, Math.abs(analytic)), `${numeric} vs ${analytic}`);
  }
});

Deno.test("eotPgd with identity transforms follows plain PGD step for step", async () => {
  const identity: ResizePadRange = { minSize: 6, maxSize: 7, canvas: 6 };
  const linear = model();
  const label = top(await linear.logits(x0, 1));
  for (const norm of ["linf", "l2"] as const) {
    const opts = { ...base, norm, eps: 0.01, transform: identity, labels: [label] };
    const [e] = await eotPgd(linear, x0, opts);
    const [p] = await pgd(linear, x0, { ...opts, restarts: 1 });
    assert.equal(p.success, false);
    assert.deepEqual(e.adversarialPixels, p.adversarialPixels);
    assert.deepEqual(e.randomization, { draws: 9, fooledFraction: 0 });
    assert.equal(e.success, false);
  }
});

Deno.test("eotPgd: defeats the randomization when ε allows, seeded, cost as estimated", async () => {
  const linear = model();
  const label = top(await linear.logits(x0, 1));
  const { classifier, evaluations } = countingClassifier(linear);
  const opts = { ...base, eps: 0.3, alpha: 0.06, steps: 10, randomStart: true, labels: [label] };
  const [r] = await eotPgd(classifier, x0, opts);
  assert.equal(r.success, r.randomization.fooledFraction > 0.5);
  assert.ok(r.success, `fooled ${r.randomization.fooledFraction}`);
  assert.ok(r.perturbation.linf <= 0.3 + 2 ** -24);
  assert.equal(r.iterations, 10);
  assert.equal(
    forwardEquivalents(evaluations),
    estimateEotPgdCost({ images: 1, steps: 10, samples: 4, evalDraws: 9 }),
  );
  const [again] = await eotPgd(model(), x0, opts);
  assert.deepEqual(again, r);
  const [other] = await eotPgd(model(), x0, { ...opts, seed: 6 });
  assert.notDeepEqual(other.adversarialPixels, r.adversarialPixels);
});
