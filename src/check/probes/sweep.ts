import { z as zo } from "@hono/zod-openapi";
import { z } from "zod";
import { estimatePgdCost } from "../../attacks/pgd.ts";
import { classifierGradient, descend } from "../../attacks/engine.ts";
import { normStrategy } from "../../attacks/norms.ts";
import { perturbationOf, predictionOf } from "../../attacks/result.ts";
import { softmax } from "../../../kernels/softmax.ts";
import { type Candidate, exceeded, type Probe } from "../probe.ts";
import { derivedStep } from "../step_size.ts";
import { minimalEpsilonProbe } from "./minimal_epsilon.ts";

export interface SweepSettings {
  eps: number[];
  steps: number;
}

const SweepLayer = z.union([
  z.literal(false),
  z.object({
    eps: z.array(z.number().min(0).max(1)).min(1).optional(),
    steps: z.number().int().min(1).optional(),
  }).strict(),
]);

const SweepPoint = zo.object({
  eps: zo.number(),
  success: zo.boolean().openapi({
    description: "The final iterate's prediction is not the label (targeted: is the target)",
  }),
  labelConfidence: zo.number().openapi({
    description: "Softmax probability of the label at the attack's final iterate (after all steps)",
  }),
  adversarial: zo.object({ index: zo.number().int(), label: zo.string(), confidence: zo.number() }),
  linf: zo.number(),
});
const SweepSection = zo.object({
  method: zo.literal("pgd-linf"),
  steps: zo.number().int(),
  points: zo.array(SweepPoint),
  gradient: zo.enum(["exact", "spsa"]),
});
export type SweepSection = z.infer<typeof SweepSection>;

const DEFAULT_POINTS = 8;
const DEFAULT_STEPS = 10;

/**
 * An ε-curve for this image: untargeted (or targeted) PGD L∞ from the clean image at each ε of a
 * list, all ε as rows of one batch (α = 2.5·ε/steps per row), each run for all its steps; a point
 * reports the prediction at its final iterate (unlike the PGD probe, which stops at the first flip). Off unless asked for; its default list
 * is 8 evenly spaced ε up to the minimal-ε search's default `high`.
 */
export const sweepProbe: Probe<"sweep", typeof SweepLayer, SweepSettings, SweepSection> = {
  key: "sweep",
  report: "section",
  layer: SweepLayer,
  section: SweepSection,
  serverDefault: () => false,
  // A curve for a report, not a stronger attack: off in every profile (ask for it explicitly).
  profiles: { screen: () => false, thorough: () => false },
  fallback(model) {
    const { high } = minimalEpsilonProbe.fallback(model);
    return {
      eps: Array.from({ length: DEFAULT_POINTS }, (_, k) => (high * (k + 1)) / DEFAULT_POINTS),
      steps: DEFAULT_STEPS,
    };
  },
  overlay: (previous, layer) => ({ eps: layer.eps ?? previous.eps, steps: layer.steps ?? previous.steps }),
  limits(s, _model, limits) {
    if (s.eps.length > limits.maxEpsList) exceeded("maxEpsList", `sweep has ${s.eps.length} ε > ${limits.maxEpsList}`);
    if (s.steps > limits.maxSteps) exceeded("maxSteps", `sweep steps ${s.steps} > ${limits.maxSteps}`);
  },
  cost: (s, gradientCost) => estimatePgdCost({ images: s.eps.length, steps: s.steps, restarts: 1, gradientCost }),
  run(s, context) {
    const { classifier, pixels, label, targets } = context;
    const names = classifier.manifest.labels;
    const classes = names.length;
    const rows = s.eps.length;
    const size = pixels.length;
    return context.timed("sweepMs", async () => {
      const origin = new Float32Array(rows * size);
      for (let r = 0; r < rows; r++) origin.set(pixels, r * size);
      const target = targets?.[0];
      // Every row runs all its steps (no early stop), so each point is the attack's final iterate.
      const outcome = await descend({
        classifier,
        gradient: classifierGradient(classifier),
        norm: normStrategy("linf"),
        loss: "ce",
        targeted: target !== undefined,
        steps: s.steps,
        origin,
        start: origin.slice(),
        eps: Float64Array.from(s.eps),
        alpha: Float64Array.from(s.eps, (e) => derivedStep(e, s.steps)),
        gradientLabels: new Int32Array(rows).fill(target ?? label),
        groups: Int32Array.from({ length: rows }, (_, r) => r),
        isAdversarial: null,
        signal: context.signal,
      });
      context.signal?.throwIfAborted();
      const logits = await classifier.logits(outcome.final, rows);
      const probabilities = softmax(logits, { rows, cols: classes });
      const candidates: Candidate[] = [];
      const points = s.eps.map((eps, r) => {
        const row = logits.subarray(r * classes, (r + 1) * classes);
        const final = outcome.final.slice(r * size, (r + 1) * size);
        const adversarial = predictionOf(row);
        const success = target !== undefined ? adversarial.index === target : adversarial.index !== label;
        const { linf } = perturbationOf(final, pixels);
        if (success) candidates.push({ source: `sweep linf ε=${eps}`, pixels: final, linf });
        return {
          eps,
          success,
          labelConfidence: probabilities[r * classes + label],
          adversarial: { ...adversarial, label: names[adversarial.index] },
          linf,
        };
      });
      return {
        section: { method: "pgd-linf" as const, steps: s.steps, points, gradient: classifier.gradientMode },
        candidates,
      };
    });
  },
  verdict: () => ({ reasons: [], suspicious: false }),
};
