import assert from "node:assert/strict";
import { pgd } from "../../attacks/pgd.ts";
import { DEFAULT_CHECK_LIMITS } from "../limits.ts";
import { ProbeLimitError } from "../probe.ts";
import { derivedStep } from "../step_size.ts";
import { sweepProbe } from "./sweep.ts";
import { classifier, model, runProbe } from "./testdata/run_probe.ts";

Deno.test("sweep probe: off by default; its default list is 8 ε up to the minimal-ε search's high", () => {
  assert.equal(sweepProbe.serverDefault(model), false);
  const { eps, steps } = sweepProbe.fallback(model);
  assert.deepEqual(eps, [1, 2, 3, 4, 5, 6, 7, 8].map((k) => 0.5 * k / 8));
  assert.equal(steps, 10);
  assert.deepEqual(sweepProbe.overlay(sweepProbe.fallback(model), { steps: 3 }, sweepProbe.fallback(model)), {
    eps,
    steps: 3,
  });
});

Deno.test("sweep probe: each ε row is a full-length PGD L∞ run at that ε alone, judged at its final iterate", async () => {
  const settings = { eps: [0, 0.02, 0.1, 0.3, 0.6], steps: 6 };
  const { section, candidates, predicted } = await runProbe(sweepProbe, settings);
  assert.deepEqual(section.points.map((p) => p.eps), settings.eps);
  const pixels = Float32Array.from({ length: 36 }, (_, i) => (i % 7) / 7);
  for (const point of section.points) {
    const [alone] = await pgd(classifier, pixels, {
      norm: "linf",
      eps: point.eps,
      alpha: derivedStep(point.eps, 6),
      steps: 6,
      randomStart: false,
      restarts: 1,
      loss: "ce",
      seed: 0,
      labels: [predicted],
    });
    // A final iterate that fools the model means PGD (which stops at the first flip) was fooled too.
    if (point.success) assert.equal(alone.success, true, `ε=${point.eps}`);
    if (!alone.success) {
      // PGD then reports its final iterate: the same point.
      assert.equal(point.success, false);
      assert.equal(point.adversarial.index, alone.adversarial.index);
      assert.ok(Math.abs(point.labelConfidence - alone.adversarial.confidence) < 1e-6, `ε=${point.eps}`);
      assert.ok(Math.abs(point.linf - alone.perturbation.linf) < 1e-7);
    }
    assert.ok(point.linf <= point.eps + 1e-6);
    assert.equal(point.success, point.adversarial.index !== predicted);
    if (!point.success) assert.equal(point.labelConfidence, point.adversarial.confidence);
  }
  assert.equal(section.points[0].success, false, "ε = 0 cannot flip the prediction");
  assert.equal(section.points.at(-1)!.success, true, "the linear model breaks within ε = 0.6");
  assert.ok(section.points.some((p) => !p.success && p.eps > 0), "and holds at some ε > 0");
  assert.deepEqual(
    candidates.map((c) => c.source),
    section.points.filter((p) => p.success).map((p) => `sweep linf ε=${p.eps}`),
  );
});

Deno.test("sweep probe: limits name maxEpsList and maxSteps", () => {
  const limits = { ...DEFAULT_CHECK_LIMITS, maxEpsList: 2, maxSteps: 5 };
  assert.throws(
    () => sweepProbe.limits({ eps: [0.1, 0.2, 0.3], steps: 1 }, model, limits),
    (e) => e instanceof ProbeLimitError && e.message.startsWith("maxEpsList"),
  );
  assert.throws(
    () => sweepProbe.limits({ eps: [0.1], steps: 6 }, model, limits),
    (e) => e instanceof ProbeLimitError && e.message.startsWith("maxSteps"),
  );
});
