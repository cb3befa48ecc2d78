import assert from "node:assert/strict";
import { fgsm } from "../attacks/fgsm.ts";
import { randomLinearSoftmax } from "../attacks/testdata/linear_softmax.ts";
import type { Classifier } from "../model/classifier.ts";
import { DEFAULT_CHECK_LIMITS } from "./limits.ts";
import { checkImage } from "./service.ts";

const pixels = Float32Array.from({ length: 36 }, (_, i) => ((i * 7) % 11) / 11);
const screen = {
  squeeze: { squeezers: [{ kind: "bitDepth", bits: 2 }] },
  randomization: { draws: 3, eot: false },
  pgd: false,
};
const eps = [0.05, 0.2];
const options = { ...screen, fgsm: { eps }, minimalEpsilon: false, sweep: false, seed: 4 };

const check = (classifier: Classifier, extra: Record<string, unknown> = {}) =>
  checkImage({
    classifier,
    pixels,
    rawOptions: { ...options, ...extra },
    calibrations: { get: () => Promise.resolve(null) },
    limits: DEFAULT_CHECK_LIMITS,
  });

const model = () => randomLinearSoftmax({ seed: 9, classes: 4, channels: 1, height: 6, width: 6, scale: 3 });

Deno.test("run check: untargeted FGSM takes the clean gradient first and its rows ride in the one screening pass", async () => {
  for (const label of [null, 2]) {
    const classifier = model();
    const report = await check(classifier, { label });
    // One gradient call (the clean gradient), one forward call (squeezed + draws + FGSM rows; no clean row).
    assert.deepEqual(classifier.calls.gradient, [1]);
    assert.deepEqual(classifier.calls.logits, [1 + 3 + eps.length]);
    assert.ok(report.timings.cleanGradientMs >= 0);
    // The same FGSM results as the attack run on its own at the check's label.
    const alone = (await fgsm(model(), pixels, { labels: [report.label.index], eps }))[0];
    const rows = report.probes.filter((p) => p.attack === "fgsm");
    assert.deepEqual(rows.map((r) => [r.success, r.iterations, r.adversarial.index, r.perturbation]), [
      ...alone.map((r) => [r.success, r.iterations, r.adversarial.index, r.perturbation]),
    ]);
    assert.deepEqual(rows.map((r) => r.adversarial.confidence), alone.map((r) => r.adversarial.confidence));
    // The clean logits are the gradient's: the prediction matches the model's own forward pass.
    const forward = await model().logits(pixels, 1);
    assert.equal(report.prediction.index, forward.indexOf(Math.max(...forward)));
  }
});

Deno.test("run check: a targeted check and an SPSA model keep the forward-first order", async () => {
  const targeted = model();
  const predicted = (await check(model())).prediction.index;
  const report = await check(targeted, { target: (predicted + 1) % 4 });
  assert.equal(report.timings.cleanGradientMs, undefined);
  assert.deepEqual(targeted.calls.logits, [1 + 1 + 3, eps.length]);

  const spsa = { ...model(), gradientMode: "spsa" as const };
  const spsaReport = await check(spsa);
  assert.equal(spsaReport.timings.cleanGradientMs, undefined);
});
