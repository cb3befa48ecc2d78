import assert from "node:assert/strict";
import fc from "fast-check";
import { rowLosses, TooFewClassesError } from "../../kernels/loss.ts";
import type { Classifier } from "../model/classifier.ts";
import { apgd, apgdCheckpoints, type ApgdOptions, estimateApgdCost, halveAtCheckpoint } from "./apgd.ts";
import { countingClassifier, forwardEquivalents } from "./cost.ts";
import { normStrategy } from "./norms.ts";
import { createLinearSoftmax, type LinearSoftmax, randomLinearSoftmax } from "./testdata/linear_softmax.ts";

const F32_SLACK = 2 ** -24;

/** Every pixel batch the attack sends, by call kind, in order. */
function recording(model: Classifier) {
  const gradientBatches: Float32Array[] = [];
  const forwardBatches: Float32Array[] = [];
  const wrapped: Classifier = {
    ...model,
    logits(pixels, batch) {
      forwardBatches.push(pixels.slice());
      return model.logits(pixels, batch);
    },
    gradient(pixels, batch, labels, loss) {
      gradientBatches.push(pixels.slice());
      return model.gradient(pixels, batch, labels, loss);
    },
  };
  return { model: wrapped, gradientBatches, forwardBatches };
}

const top = (z: Float32Array): number => Array.from(z).indexOf(Math.max(...z));

const base: Omit<ApgdOptions, "labels"> = { norm: "linf", eps: 0.1, steps: 10, restarts: 1, loss: "ce", seed: 1 };

Deno.test("apgdCheckpoints: w_j = ⌈p_j·N⌉ with p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06)", () => {
  assert.deepEqual(apgdCheckpoints(100), [22, 41, 57, 70, 80, 87, 93, 99]);
  // p = 0.22, 0.41, 0.57, 0.70, 0.80, 0.87, 0.93, 0.99 → ⌈20p⌉; p ≥ 1 ends the list.
  assert.deepEqual(apgdCheckpoints(20), [5, 9, 12, 14, 16, 18, 19]);
  assert.deepEqual(apgdCheckpoints(1), []);
  // ⌈0.41·5⌉ = ⌈0.57·5⌉ = 3: merged.
  assert.deepEqual(apgdCheckpoints(5), [2, 3, 4]);
  fc.assert(fc.property(fc.integer({ min: 0, max: 2000 }), (n) => {
    const w = apgdCheckpoints(n);
    w.forEach((v, j) => assert.ok(v > 0 && v < n && (j === 0 || v > w[j - 1])));
    if (n >= 5) assert.equal(w[0], Math.ceil((22 * n) / 100));
  }));
});

Deno.test("halveAtCheckpoint: Condition 1 (few increases) or Condition 2 (η kept and f_max stalled)", () => {
  const w = { increases: 3, length: 4, rho: 0.75, halvedBefore: false, bestBefore: 1, bestNow: 2 };
  assert.equal(halveAtCheckpoint(w), false); // 3 ≥ 0.75·4 and f_max grew
  assert.equal(halveAtCheckpoint({ ...w, increases: 2 }), true); // 2 < 3
  assert.equal(halveAtCheckpoint({ ...w, bestNow: 1 }), true); // stalled, η not halved before
  assert.equal(halveAtCheckpoint({ ...w, bestNow: 1, halvedBefore: true }), false);
  assert.equal(halveAtCheckpoint({ ...w, rho: 1, increases: 3 }), true);
});

Deno.test("linear softmax: the dlr gradient is the derivative of rowLosses' dlr", async () => {
  const model = randomLinearSoftmax({ seed: 4, classes: 5, channels: 1, height: 2, width: 3, scale: 1 });
  const x = Float32Array.from([0.2, 0.7, 0.4, 0.9, 0.1, 0.5]);
  for (const label of [0, 2, 4]) {
    const { grad, loss } = await model.gradient(x, 1, Int32Array.of(label), "dlr");
    const f = async (v: Float32Array) => rowLosses(await model.logits(v, 1), 5, [label], "dlr")[0];
    assert.ok(Math.abs(loss[0] - await f(x)) < 1e-6);
    for (let i = 0; i < x.length; i++) {
      // The best of two steps: near-tied logits put a kink of the sort within reach of the larger.
      let err = Infinity;
      for (const h of [1e-3, 1e-4]) {
        const up = x.slice(), down = x.slice();
        up[i] += h;
        down[i] -= h;
        const fd = (await f(up) - await f(down)) / (up[i] - down[i]);
        err = Math.min(err, Math.abs(fd - grad[i]) / Math.max(1, Math.abs(fd)));
      }
      assert.ok(err < 1e-3, `∂/∂x${i}: relative error ${err}`);
    }
  }
});

/**
 * Replays the documented update on the iterates the attack sent: from x^(t−1), x^(t) and the
 * model's own gradients, predicts x^(t+1) (η schedule, momentum, restarts from x_max at
 * checkpoints) and demands the attack sent exactly that. Returns how many restarts moved x.
 */
async function replay(model: LinearSoftmax, x0: Float32Array, opts: ApgdOptions): Promise<number> {
  const { model: rec, gradientBatches, forwardBatches } = recording(model);
  const [r] = await apgd(rec, x0, opts);
  assert.equal(r.success, false, "the replay needs a row that stays in the batch");
  const iterates = [...gradientBatches, forwardBatches[1]];
  assert.equal(iterates.length, opts.steps + 1);
  const norm = normStrategy(opts.norm);
  const classes = model.manifest.labels.length;
  const y = Int32Array.of(opts.labels[0]);
  const eps = Float64Array.of(opts.eps);
  const checkpoints = apgdCheckpoints(opts.steps);
  let eta = 2 * opts.eps;
  let x = iterates[0], prev = iterates[0];
  let g = (await model.gradient(x, 1, y, opts.loss)).grad;
  let f = rowLosses(await model.logits(x, 1), classes, y, opts.loss)[0];
  let best = { x, g, f }, bestAtCheck = f, increases = 0, halved = false, last = 0, restarts = 0;
  for (let t = 0; t < opts.steps; t++) {
    if (checkpoints.includes(t)) {
      const halve = halveAtCheckpoint({
        increases,
        length: t - last,
        rho: 0.75,
        halvedBefore: halved,
        bestBefore: bestAtCheck,
        bestNow: best.f,
      });
      if (halve) {
        eta /= 2;
        if (best.x !== x) restarts++;
        ({ x, g, f } = best);
      }
      [halved, bestAtCheck, increases, last] = [halve, best.f, 0, t];
    }
    const step = norm.step(g, Float64Array.of(eta));
    let next = norm.project(x.map((v, i) => v + step[i]), x0, eps);
    if (t > 0) next = norm.project(x.map((v, i) => v + 0.75 * (next[i] - v) + 0.25 * (v - prev[i])), x0, eps);
    assert.deepEqual(iterates[t + 1], next, `iterate ${t + 1}`);
    [prev, x] = [x, next];
    g = (await model.gradient(x, 1, y, opts.loss)).grad;
    const fNext = rowLosses(await model.logits(x, 1), classes, y, opts.loss)[0];
    if (fNext > f) increases++;
    f = fNext;
    if (f > best.f) best = { x, g, f };
  }
  return restarts;
}

Deno.test("apgd: iterates follow the step-size schedule, momentum and restarts from x_max", async () => {
  let restarts = 0;
  for (
    const [norm, loss, eps, seed] of [["linf", "ce", 0.02, 3], ["linf", "dlr", 0.03, 8], ["l2", "dlr", 0.1, 5]] as const
  ) {
    const model = randomLinearSoftmax({ seed, classes: 4, channels: 1, height: 3, width: 3, scale: 2 });
    const x0 = Float32Array.from({ length: 9 }, (_, i) => 0.2 + 0.07 * i);
    const label = top(await model.logits(x0, 1));
    restarts += await replay(model, x0, { norm, loss, eps, steps: 30, restarts: 1, seed, labels: [label] });
  }
  assert.ok(restarts > 0, "no checkpoint moved an iterate back to x_max");
});

Deno.test("apgd: the start lies on the ε-sphere and every iterate in the ball and in [0,1] (property)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        seed: fc.integer({ min: 0, max: 1e6 }),
        norm: fc.constantFrom("linf" as const, "l2" as const),
        eps: fc.double({ min: 0.001, max: 1, noNaN: true }),
        steps: fc.integer({ min: 0, max: 8 }),
        restarts: fc.integer({ min: 1, max: 3 }),
        loss: fc.constantFrom("ce" as const, "dlr" as const),
      }),
      async (c) => {
        const linear = randomLinearSoftmax({ seed: c.seed, classes: 4, channels: 3, height: 2, width: 2, scale: 5 });
        const x0 = Float32Array.from({ length: 12 }, (_, i) => 0.3 + 0.03 * i);
        const label = top(await linear.logits(x0, 1));
        const { model, gradientBatches, forwardBatches } = recording(linear);
        const [r] = await apgd(model, x0, { ...c, labels: [label] });
        const bound = c.norm === "linf" ? c.eps + F32_SLACK : c.eps * (1 + 1e-6) + 4 * F32_SLACK;
        const sent = [...gradientBatches, ...forwardBatches.slice(1), r.adversarialPixels];
        for (const batch of sent) {
          for (let off = 0; off < batch.length; off += 12) {
            let linf = 0, sq = 0;
            for (let i = 0; i < 12; i++) {
              const d = batch[off + i] - x0[i];
              linf = Math.max(linf, Math.abs(d));
              sq += d * d;
              assert.ok(batch[off + i] >= 0 && batch[off + i] <= 1);
            }
            assert.ok((c.norm === "linf" ? linf : Math.sqrt(sq)) <= bound);
          }
        }
        // Pixels 0.3..0.63 with ε < 0.3 are never clipped: iterate 0 is exactly on the sphere.
        const start = gradientBatches[0] ?? forwardBatches[1];
        if (c.eps < 0.3) {
          let linf = 0, sq = 0;
          for (let i = 0; i < 12; i++) {
            const d = start[i] - x0[i];
            linf = Math.max(linf, Math.abs(d));
            sq += d * d;
          }
          const radius = c.norm === "linf" ? linf : Math.sqrt(sq);
          assert.ok(Math.abs(radius - c.eps) <= 1e-6, `start radius ${radius} vs ε ${c.eps}`);
        }
        assert.equal(r.success, r.adversarial.index !== label);
        assert.ok(r.iterations >= 0 && r.iterations <= c.steps);
        if (!r.success) assert.equal(r.iterations, c.steps);
        assert.equal(r.attack, c.loss === "ce" ? "apgd-ce" : "apgd-dlr");
        assert.equal(r.alpha, 2 * c.eps);
      },
    ),
    { numRuns: 50, seed: 20261201 },
  );
});

Deno.test("apgd: a broken image leaves the batch; a misclassified clean image is never attacked", async () => {
  // z0 = 0.3, z1 = Σx, z2 = −Σx on a 1×2×2 image.
  const model = createLinearSoftmax({
    weights: Float64Array.from([0, 0, 0, 0, 1, 1, 1, 1, -1, -1, -1, -1]),
    bias: Float64Array.from([0.3, 0, 0]),
    channels: 1,
    height: 2,
    width: 2,
  });
  // Image 0 (label 0 at x = 0): z0 − z1 = 0.3, broken by ε = 0.2. Image 1 at x = 0.5 has label 1
  // (z1 = 2) and cannot leave class 1 within ε = 0.2. Image 2 is image 0 labelled 2: misclassified.
  const x0 = Float32Array.from([0, 0, 0, 0, 0.5, 0.5, 0.5, 0.5, 0, 0, 0, 0]);
  const [a, b, c] = await apgd(model, x0, { ...base, eps: 0.2, steps: 6, restarts: 2, labels: [0, 1, 2] });
  assert.equal(a.success, true);
  assert.ok(a.iterations <= 1);
  assert.equal(b.success, false);
  assert.equal(b.iterations, 6);
  assert.equal(c.success, true);
  assert.equal(c.iterations, 0);
  assert.deepEqual(c.adversarialPixels, x0.subarray(8, 12));
  assert.deepEqual(c.perturbation, { linf: 0, l2: 0 });
  // Clean pass of 3 images; then 4 rows (images 0 and 1) until image 0 breaks, then 2.
  assert.equal(model.calls.logits[0], 3);
  assert.ok(model.calls.gradient[0] === 4 && model.calls.gradient.at(-1) === 2);
  assert.deepEqual(model.calls.logits.slice(1), [2]);
});

Deno.test("apgd: seeded runs are deterministic and differ across seeds", async () => {
  const mk = () => randomLinearSoftmax({ seed: 3, classes: 4, channels: 1, height: 3, width: 3, scale: 2 });
  const x0 = Float32Array.from({ length: 18 }, (_, i) => (i % 9) / 9);
  const z = await mk().logits(x0, 2);
  const labels = [top(z.subarray(0, 4)), top(z.subarray(4, 8))];
  const opts: ApgdOptions = { ...base, eps: 0.05, steps: 5, restarts: 2, seed: 42, labels };
  const r1 = await apgd(mk(), x0, opts);
  assert.deepEqual(await apgd(mk(), x0, opts), r1);
  assert.notDeepEqual((await apgd(mk(), x0, { ...opts, seed: 43 }))[0].adversarialPixels, r1[0].adversarialPixels);
});

Deno.test("apgd: counted work never exceeds estimateApgdCost and equals it without successes", async () => {
  const linear = randomLinearSoftmax({ seed: 5, classes: 3, channels: 1, height: 2, width: 2, scale: 0.01 });
  const { classifier, evaluations } = countingClassifier(linear);
  const x0 = new Float32Array(8).fill(0.5);
  const label = top(await linear.logits(x0.subarray(0, 4), 1));
  const rs = await apgd(classifier, x0, { ...base, eps: 0.01, steps: 7, restarts: 3, labels: [label, label] });
  assert.ok(rs.every((r) => !r.success));
  assert.equal(forwardEquivalents(evaluations), estimateApgdCost({ images: 2, steps: 7, restarts: 3 }));
  assert.equal(estimateApgdCost({ images: 2, steps: 7, restarts: 3, gradientCost: 10 }), 2 * (1 + 3 * 71));
});

Deno.test("apgd: dlr on 2 classes is a TooFewClassesError; malformed options are RangeErrors", async () => {
  const two = randomLinearSoftmax({ seed: 1, classes: 2, channels: 1, height: 2, width: 2, scale: 1 });
  const x0 = new Float32Array(4).fill(0.5);
  await assert.rejects(apgd(two, x0, { ...base, loss: "dlr", labels: [0] }), TooFewClassesError);
  await assert.rejects(two.gradient(x0, 1, Int32Array.of(0), "dlr"), TooFewClassesError);
  await apgd(two, x0, { ...base, labels: [0] }); // ce is fine
  const three = randomLinearSoftmax({ seed: 1, classes: 3, channels: 1, height: 2, width: 2, scale: 1 });
  await assert.rejects(apgd(three, new Float32Array(5), { ...base, labels: [0] }), RangeError);
  await assert.rejects(apgd(three, x0, { ...base, restarts: 0, labels: [0] }), RangeError);
  await assert.rejects(apgd(three, x0, { ...base, rho: 1.5, labels: [0] }), RangeError);
  // deno-lint-ignore no-explicit-any
  await assert.rejects(apgd(three, x0, { ...base, loss: "margin" as any, labels: [0] }), RangeError);
});
