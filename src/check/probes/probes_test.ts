/** Each probe in isolation on an in-memory linear softmax model: no ONNX, no port. */
import assert from "node:assert/strict";
import { randomLinearSoftmax } from "../../attacks/testdata/linear_softmax.ts";
import type { z } from "zod";
import type { AnyProbe, Probe, ProbeContext } from "../probe.ts";
import { fgsmProbe } from "./fgsm.ts";
import { minimalEpsilonProbe } from "./minimal_epsilon.ts";
import { PROBES } from "./mod.ts";
import { pgdProbe } from "./pgd.ts";
import { randomizationProbe } from "./randomization.ts";
import { squeezeProbe } from "./squeeze.ts";

const classifier = randomLinearSoftmax({ seed: 5, classes: 3, channels: 1, height: 6, width: 6, scale: 3 });
const shape = { channels: 1, height: 6, width: 6 };
const pixels = Float32Array.from({ length: 36 }, (_, i) => (i % 7) / 7);
const model = { manifest: classifier.manifest, gradientMode: "exact" as const };
const timed = async <T>(_stage: string, work: () => T | Promise<T>) => await work();

/** Runs one probe as the pipeline does: its screening rows through the model, then its run step. */
async function runProbe<S, R>(probe: Probe<string, z.ZodType, S, R>, settings: S) {
  const clean = await classifier.logits(pixels, 1);
  const rows = probe.screening
    ? await probe.screening(settings, { pixels, shape, seed: 1 }, timed)
    : new Float32Array();
  const screeningLogits = rows.length ? await classifier.logits(rows, rows.length / pixels.length) : new Float32Array();
  const predicted = clean.indexOf(Math.max(...clean));
  const context: ProbeContext = {
    classifier,
    pixels,
    shape,
    seed: 1,
    label: predicted,
    targets: undefined,
    predicted,
    cleanLogits: clean,
    screeningLogits,
    squeezeThreshold: { value: 0.01, source: "request" },
    timed,
  };
  const outcome = await probe.run(settings, context);
  probe.section.parse(outcome.section);
  return { ...outcome, verdict: probe.verdict(outcome.section, classifier.manifest.labels), predicted };
}

Deno.test("probes: the registry has unique keys and every probe's defaults pass its own limits", () => {
  const keys = PROBES.map((p) => p.key);
  assert.equal(new Set(keys).size, keys.length);
  for (const probe of PROBES as readonly AnyProbe[]) {
    const settings = probe.fallback(model);
    probe.limits(settings, model, {
      maxSteps: 1000,
      maxRestarts: 32,
      maxDraws: 256,
      maxEpsList: 16,
      maxPgdProbes: 8,
      maxBisectionSteps: 30,
      maxSqueezers: 8,
      maxCost: 50_000,
    });
    assert.ok(probe.cost(settings, 2) >= 1, probe.key);
  }
});

Deno.test("probes: squeeze scores one screening row per squeezer and flags above the threshold", async () => {
  const settings = squeezeProbe.fallback(model);
  const { section, verdict } = await runProbe(squeezeProbe, settings);
  assert.deepEqual(Object.keys(section.scores), ["bitDepth:1", "median:2"]);
  assert.equal(section.joint, Math.max(...Object.values(section.scores)));
  assert.equal(section.flagged, section.joint > 0.01);
  assert.equal(verdict.suspicious, section.flagged);
  assert.equal(verdict.reasons.length, section.flagged ? 1 : 0);
});

Deno.test("probes: randomization votes over its draws and runs EoT-PGD through the same transforms", async () => {
  const settings = { ...randomizationProbe.fallback(model), draws: 6 };
  const { section, verdict } = await runProbe(randomizationProbe, settings);
  assert.equal(section.votes.reduce((n, v) => n + v.count, 0), 6);
  assert.ok(section.eot);
  assert.equal(section.eot.attack, "eot-pgd");
  assert.equal(section.eot.evalDraws, 6);
  assert.equal(verdict.suspicious, section.agreement < 0.5);
});

Deno.test("probes: FGSM reports one row per ε and offers its successes as candidates", async () => {
  const { section, candidates, verdict } = await runProbe(fgsmProbe, { eps: [0.01, 0.5, 1] });
  assert.deepEqual(section.map((r) => r.eps), [0.01, 0.5, 1]);
  const successes = section.filter((r) => r.success);
  assert.ok(successes.length > 0, "ε = 1 fools a linear model");
  assert.equal(candidates.length, successes.length);
  assert.equal(verdict.reasons.length, successes.length);
  for (const r of section) assert.ok(r.perturbation.linf <= r.eps + 1e-6);
});

Deno.test("probes: PGD runs each probe with its derived step and stays in its ε-ball", async () => {
  const settings = pgdProbe.overlay([], [
    { norm: "l2", eps: 3, steps: 5, randomStart: false, restarts: 1, loss: "ce" },
    {
      norm: "linf",
      eps: 0.3,
      steps: 5,
      randomStart: true,
      restarts: 2,
      loss: "margin",
    },
  ], []);
  assert.equal(settings[0].alpha, 2.5 * 3 / 5);
  const { section } = await runProbe(pgdProbe, settings);
  assert.deepEqual(section.map((r) => [r.norm, r.loss, r.randomStart]), [["l2", "ce", false], [
    "linf",
    "margin",
    true,
  ]]);
  assert.ok(section[0].perturbation.l2 <= 3 + 1e-4);
  assert.ok(section[1].perturbation.linf <= 0.3 + 1e-6);
});

Deno.test("probes: the minimal-ε search brackets the flip within [low, high]", async () => {
  const settings = { ...minimalEpsilonProbe.fallback(model), high: 1, bisectionSteps: 6 };
  const { section, verdict } = await runProbe(minimalEpsilonProbe, settings);
  assert.equal(section.broken, true);
  assert.ok(section.linf !== null && section.linf > 0 && section.linf <= 1);
  assert.equal(section.bounds[1], section.linf);
  assert.equal(verdict.reasons.length, 1);
});
