import assert from "node:assert/strict";
import fc from "fast-check";
import type { Classifier } from "../model/classifier.ts";
import { countingClassifier, forwardEquivalents } from "./cost.ts";
import { estimatePgdCost, pgd, type PgdOptions } from "./pgd.ts";
import { createLinearSoftmax, randomLinearSoftmax } from "./testdata/linear_softmax.ts";

const F32_SLACK = 2 ** -24;

/** First-max argmax of one logits row. */
const top = (z: Float32Array): number => Array.from(z).indexOf(Math.max(...z));

/** Records every pixel batch the attack sends, whichever call it goes through. */
function recording(model: Classifier): { model: Classifier; seen: Float32Array[] } {
  const seen: Float32Array[] = [];
  return {
    seen,
    model: {
      ...model,
      logits(pixels, batch) {
        seen.push(pixels.slice());
        return model.logits(pixels, batch);
      },
      gradient(pixels, batch, labels, loss) {
        seen.push(pixels.slice());
        return model.gradient(pixels, batch, labels, loss);
      },
    },
  };
}

function rowNorms(x: Float32Array, x0: Float32Array, offset: number) {
  let linf = 0;
  let sq = 0;
  for (let i = 0; i < x0.length; i++) {
    const d = Math.abs(x[offset + i] - x0[i]);
    linf = Math.max(linf, d);
    sq += d * d;
  }
  return { linf, l2: Math.sqrt(sq) };
}

/** Two classes on a 1×2×2 image: z0 − z1 = margin − Σ x_i·w. */
function twoClass(margin: number, w = 1) {
  return createLinearSoftmax({
    weights: Float64Array.from([0, 0, 0, 0, w, w, w, w]),
    bias: Float64Array.from([margin, 0]),
    channels: 1,
    height: 2,
    width: 2,
  });
}

const base: Omit<PgdOptions, "labels"> = {
  norm: "linf",
  eps: 0.1,
  alpha: 0.02,
  steps: 10,
  randomStart: false,
  restarts: 1,
  loss: "ce",
  seed: 1,
};

Deno.test("pgd: every iterate stays in the ε-ball and in [0,1] (property)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        seed: fc.integer({ min: 0, max: 1e6 }),
        norm: fc.constantFrom("linf" as const, "l2" as const),
        eps: fc.double({ min: 0.001, max: 2, noNaN: true }),
        alphaRatio: fc.double({ min: 0.05, max: 3, noNaN: true }),
        steps: fc.integer({ min: 0, max: 6 }),
        restarts: fc.integer({ min: 1, max: 3 }),
        randomStart: fc.boolean(),
        loss: fc.constantFrom("ce" as const, "margin" as const),
        pixels: fc.array(fc.constantFrom(0, 1, 0.5, 0.999, 0.001, 0.3), { minLength: 12, maxLength: 12 }),
      }),
      async (c) => {
        const linear = randomLinearSoftmax({ seed: c.seed, classes: 4, channels: 3, height: 2, width: 2, scale: 5 });
        const { model, seen } = recording(linear);
        const x0 = Float32Array.from(c.pixels);
        const label = 0;
        const [r] = await pgd(model, x0, {
          ...base,
          norm: c.norm,
          eps: c.eps,
          alpha: c.eps * c.alphaRatio,
          steps: c.steps,
          restarts: c.restarts,
          randomStart: c.randomStart,
          loss: c.loss,
          seed: c.seed,
          labels: [label],
        });
        for (const batch of [...seen, r.adversarialPixels]) {
          for (let off = 0; off < batch.length; off += x0.length) {
            const n = rowNorms(batch, x0, off);
            if (c.norm === "linf") assert.ok(n.linf <= c.eps + F32_SLACK, `linf ${n.linf} > ${c.eps}`);
            else assert.ok(n.l2 <= c.eps * (1 + 1e-6) + 4 * F32_SLACK, `l2 ${n.l2} > ${c.eps}`);
            for (let i = 0; i < x0.length; i++) {
              assert.ok(batch[off + i] >= 0 && batch[off + i] <= 1);
            }
          }
        }
        assert.ok(
          r.perturbation[c.norm] <= (c.norm === "linf" ? c.eps + F32_SLACK : c.eps * (1 + 1e-6) + 4 * F32_SLACK),
        );
        assert.ok(r.iterations >= 0 && r.iterations <= c.steps);
        if (!r.success) {
          assert.equal(r.iterations, c.steps);
          assert.equal(r.adversarial.index, label);
        } else {
          assert.notEqual(r.adversarial.index, label);
        }
      },
    ),
    { numRuns: 60, seed: 20261122 },
  );
});

Deno.test("pgd l2: an overshooting step lands on the sphere along g/‖g‖", async () => {
  const model = randomLinearSoftmax({ seed: 7, classes: 3, channels: 1, height: 3, width: 3, scale: 1 });
  const x0 = new Float32Array(9).fill(0.5);
  const eps = 0.2;
  const label = top(await model.logits(x0, 1));
  const [r] = await pgd(model, x0, { ...base, norm: "l2", eps, alpha: 5, steps: 1, labels: [label] });
  assert.equal(r.iterations, 1);
  const { grad } = await model.gradient(x0, 1, Int32Array.of(label), "ce");
  let gn = 0;
  for (const v of grad) gn += v * v;
  gn = Math.sqrt(gn);
  assert.ok(Math.abs(r.perturbation.l2 - eps) < 1e-6, `‖δ‖₂ = ${r.perturbation.l2}`);
  for (let i = 0; i < 9; i++) {
    const expected = 0.5 + eps * grad[i] / gn;
    assert.ok(Math.abs(r.adversarialPixels[i] - expected) < 1e-6);
  }
  // A step shorter than ε is not rescaled.
  const [short] = await pgd(model, x0, { ...base, norm: "l2", eps: 1, alpha: 0.05, steps: 1, labels: [label] });
  assert.ok(Math.abs(short.perturbation.l2 - 0.05) < 1e-6);
});

Deno.test("pgd targeted: descends the target's loss and reaches the target", async () => {
  const model = randomLinearSoftmax({ seed: 11, classes: 5, channels: 1, height: 4, width: 4, scale: 1 });
  const x0 = new Float32Array(16).fill(0.5);
  const z0 = await model.logits(x0, 1);
  const label = top(z0);
  const target = (label + 2) % 5;
  const targetMargin = (z: Float32Array) => z[target] - Math.max(...Array.from(z).filter((_, j) => j !== target));
  const opts = {
    ...base,
    eps: 0.5,
    alpha: 0.05,
    steps: 40,
    loss: "margin" as const,
    labels: [label],
    targets: [target],
  };
  const [r] = await pgd(model, x0, opts);
  assert.equal(r.targeted, true);
  assert.equal(r.target, target);
  assert.equal(r.success, true);
  assert.equal(r.adversarial.index, target);
  const z1 = await model.logits(r.adversarialPixels, 1);
  assert.ok(targetMargin(z1) > targetMargin(z0));
  // One step already moves toward the target, for both losses.
  for (const loss of ["ce", "margin"] as const) {
    const [one] = await pgd(model, x0, { ...opts, loss, steps: 1, alpha: 0.01 });
    const z = await model.logits(one.adversarialPixels, 1);
    assert.ok(targetMargin(z) > targetMargin(z0), loss);
  }
});

Deno.test("pgd: an image leaves the batch at its first adversarial iterate", async () => {
  // z0 = 0.3, z1 = Σx. Image 0 (label 0) breaks after a few steps; image 1 (label 1) never does.
  const model = createLinearSoftmax({
    weights: Float64Array.from([0, 0, 0, 0, 1, 1, 1, 1]),
    bias: Float64Array.from([0.3, 0]),
    channels: 1,
    height: 2,
    width: 2,
  });
  const x0 = new Float32Array(8).fill(0);
  x0.fill(0.5, 4, 8);
  // Image 1 sits at x = 0.5: z0 − z1 = 0.3 − 2 < 0, so label 1 is its clean prediction.
  // Image 0 at x = 0: z0 − z1 = 0.3 → label 0; each step of α = 0.02 lowers it by 0.08.
  const steps = 10;
  const [a, b] = await pgd(model, x0, { ...base, eps: 0.5, alpha: 0.02, steps, restarts: 3, labels: [0, 1] });
  assert.equal(a.success, true);
  assert.equal(a.iterations, 4); // 0.3 − 4·0.08 < 0 for the first time at t = 4
  assert.equal(a.restart, 0);
  assert.equal(b.success, false);
  assert.equal(b.iterations, steps);
  assert.deepEqual(model.calls.gradient, [6, 6, 6, 6, 6, 3, 3, 3, 3, 3]);
  assert.deepEqual(model.calls.logits, [3]);
  // The reported iterate is the first one: a run one step shorter fails.
  const [early] = await pgd(model, x0.subarray(0, 4), { ...base, eps: 0.5, alpha: 0.02, steps: 3, labels: [0] });
  assert.equal(early.success, false);
});

Deno.test("pgd: an already misclassified start succeeds at iterate 0 with the clean pixels", async () => {
  const model = twoClass(-1);
  const x0 = Float32Array.of(0.1, 0.2, 0.3, 0.4);
  const [r] = await pgd(model, x0, { ...base, labels: [0] });
  assert.equal(r.success, true);
  assert.equal(r.iterations, 0);
  assert.deepEqual(r.adversarialPixels, x0);
  assert.deepEqual(r.perturbation, { linf: 0, l2: 0 });
  assert.deepEqual(model.calls.gradient, [1]);
});

Deno.test("pgd: seeded random starts are deterministic and differ across seeds", async () => {
  const mk = () => randomLinearSoftmax({ seed: 3, classes: 4, channels: 1, height: 3, width: 3, scale: 2 });
  const x0 = Float32Array.from({ length: 18 }, (_, i) => (i % 9) / 9);
  const opts: PgdOptions = {
    ...base,
    eps: 0.05,
    alpha: 0.01,
    steps: 3,
    restarts: 2,
    randomStart: true,
    seed: 42,
    labels: [1, 2],
  };
  const r1 = await pgd(mk(), x0, opts);
  const r2 = await pgd(mk(), x0, opts);
  const r3 = await pgd(mk(), x0, { ...opts, seed: 43 });
  assert.deepEqual(r1, r2);
  assert.notDeepEqual(r1[0].adversarialPixels, r3[0].adversarialPixels);
});

Deno.test("pgd: counted work never exceeds estimatePgdCost and equals it without early stops", async () => {
  const linear = randomLinearSoftmax({ seed: 5, classes: 3, channels: 1, height: 2, width: 2, scale: 0.01 });
  const { classifier, evaluations } = countingClassifier(linear);
  const x0 = new Float32Array(8).fill(0.5);
  const label = top(await linear.logits(x0.subarray(0, 4), 1));
  const opts = { ...base, eps: 0.01, alpha: 0.01, steps: 7, restarts: 2, labels: [label, label] };
  const rs = await pgd(classifier, x0, opts);
  assert.ok(rs.every((r) => !r.success));
  assert.equal(forwardEquivalents(evaluations), estimatePgdCost({ images: 2, steps: 7, restarts: 2 }));
  assert.equal(estimatePgdCost({ images: 2, steps: 7, restarts: 2, gradientCost: 10 }), 2 * 2 * (70 + 1));
});

Deno.test("pgd: rejects malformed input", async () => {
  const model = twoClass(0);
  const x0 = new Float32Array(4);
  await assert.rejects(pgd(model, new Float32Array(5), { ...base, labels: [0] }), RangeError);
  await assert.rejects(pgd(model, x0, { ...base, labels: [2] }), RangeError);
  await assert.rejects(pgd(model, x0, { ...base, labels: [0], targets: [0] }), RangeError);
  await assert.rejects(pgd(model, x0, { ...base, restarts: 0, labels: [0] }), RangeError);
  await assert.rejects(pgd(model, x0, { ...base, eps: -1, labels: [0] }), RangeError);
});
