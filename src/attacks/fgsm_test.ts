import assert from "node:assert/strict";
import { countingClassifier, forwardEquivalents } from "./cost.ts";
import { estimateFgsmCost, fgsm } from "./fgsm.ts";
import { pgd } from "./pgd.ts";
import { createLinearSoftmax, randomLinearSoftmax } from "./testdata/linear_softmax.ts";

/**
 * Dyadic weights and pixels keep every sum exact in float32, so "L∞ = ε" can be asserted with ===.
 * Pixels 2 and 5 have all-zero weight columns, hence a zero gradient.
 */
function dyadicModel() {
  const d = 8;
  const w = [
    [0.5, -0.25, 0, 1, 0.125, 0, -1, 0.75],
    [-0.5, 0.375, 0, -0.5, 0.25, 0, 0.5, -0.25],
    [0.25, -0.125, 0, 0.25, -0.5, 0, 0.25, 0.5],
  ];
  return createLinearSoftmax({
    weights: Float64Array.from(w.flat()),
    bias: Float64Array.from([0.5, 0, 0]),
    channels: 1,
    height: 2,
    width: d / 2,
  });
}

Deno.test("fgsm: moves every pixel by exactly ε along sign(∇), 0 where ∇ = 0, clipped to [0,1]", async () => {
  const model = dyadicModel();
  const x0 = Float32Array.from([0.5, 0.25, 0.75, 0, 1, 0.5, 0.625, 0.375]);
  const eps = 1 / 16;
  const [[r]] = await fgsm(model, x0, { labels: [0], eps: [eps] });
  const { grad } = await model.gradient(x0, 1, Int32Array.of(0), "ce");
  let clipped = false;
  for (let i = 0; i < 8; i++) {
    const want = Math.min(1, Math.max(0, x0[i] + eps * Math.sign(grad[i])));
    assert.equal(r.adversarialPixels[i], want, `pixel ${i}`);
    if (grad[i] === 0) assert.equal(r.adversarialPixels[i], x0[i]);
    if (want !== x0[i] + eps * Math.sign(grad[i])) clipped = true;
  }
  assert.ok(grad[2] === 0 && grad[5] === 0 && grad[0] !== 0);
  assert.ok(clipped, "the fixture should exercise the [0,1] clip");
  assert.equal(r.perturbation.linf, eps);
  assert.equal(r.iterations, 1);
  assert.equal(r.steps, 1);
  assert.equal(r.alpha, eps);
  assert.equal(r.gradient, "exact");
});

Deno.test("fgsm equals one-step PGD (α = ε, no random start) for every ε", async () => {
  const model = randomLinearSoftmax({ seed: 9, classes: 4, channels: 3, height: 2, width: 3, scale: 3 });
  const images = 5;
  const x0 = Float32Array.from({ length: images * 18 }, (_, i) => ((i * 37) % 101) / 100);
  const z = await model.logits(x0, images);
  // Labels: the clean prediction, except image 3 which is labelled wrongly (adversarial at t = 0).
  const labels = Array.from({ length: images }, (_, i) => {
    const row = Array.from(z.subarray(i * 4, i * 4 + 4));
    const top = row.indexOf(Math.max(...row));
    return i === 3 ? (top + 1) % 4 : top;
  });
  const eps = [0, 0.01, 0.05, 0.2];
  for (const targets of [undefined, labels.map((y) => (y + 1) % 4)]) {
    const results = await fgsm(model, x0, { labels, eps, targets, loss: "margin" });
    assert.equal(results.length, images);
    for (let i = 0; i < images; i++) {
      assert.equal(results[i].length, eps.length);
      for (let k = 0; k < eps.length; k++) {
        const [p] = await pgd(model, x0.subarray(i * 18, (i + 1) * 18), {
          norm: "linf",
          eps: eps[k],
          alpha: eps[k],
          steps: 1,
          randomStart: false,
          restarts: 1,
          loss: "margin",
          seed: 0,
          labels: [labels[i]],
          targets: targets ? [targets[i]] : undefined,
        });
        const f = results[i][k];
        assert.deepEqual({ ...f, attack: "pgd" }, p, `image ${i} ε ${eps[k]}`);
      }
    }
    if (!targets) {
      assert.equal(results[3][0].success, true);
      assert.equal(results[3][0].iterations, 0);
    }
  }
});

Deno.test("fgsm targeted: one small step lowers the target's cross-entropy", async () => {
  const model = randomLinearSoftmax({ seed: 4, classes: 3, channels: 1, height: 3, width: 3, scale: 1 });
  const x0 = new Float32Array(9).fill(0.5);
  const z = await model.logits(x0, 1);
  const label = Array.from(z).indexOf(Math.max(...z));
  const target = Int32Array.of((label + 1) % 3);
  const [[r]] = await fgsm(model, x0, { labels: [label], targets: target, eps: [1 / 256] });
  assert.equal(r.iterations, 1);
  const before = (await model.gradient(x0, 1, target, "ce")).loss[0];
  const after = (await model.gradient(r.adversarialPixels, 1, target, "ce")).loss[0];
  assert.ok(after < before, `${after} !< ${before}`);
  // Untargeted, the same step size raises the true label's loss.
  const [[u]] = await fgsm(model, x0, { labels: [label], eps: [1 / 256] });
  const y = Int32Array.of(label);
  const cleanLoss = (await model.gradient(x0, 1, y, "ce")).loss[0];
  assert.ok((await model.gradient(u.adversarialPixels, 1, y, "ce")).loss[0] > cleanLoss);
});

Deno.test("fgsm: one gradient row per image plus one forward row per (image, ε)", async () => {
  const linear = randomLinearSoftmax({ seed: 2, classes: 3, channels: 1, height: 2, width: 2, scale: 0.01 });
  const x0 = new Float32Array(12).fill(0.5);
  const z = await linear.logits(x0.subarray(0, 4), 1);
  const y = Array.from(z).indexOf(Math.max(...z));
  const { classifier, evaluations } = countingClassifier(linear);
  await fgsm(classifier, x0, { labels: [y, y, y], eps: [0.1, 0.2] });
  assert.deepEqual(evaluations, { forwardRows: 6, gradientRows: 3 });
  assert.equal(forwardEquivalents(evaluations), estimateFgsmCost({ images: 3, epsCount: 2 }));
});
