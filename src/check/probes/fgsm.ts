import { z } from "zod";
import { estimateFgsmCost, fgsm, type FgsmStep, fgsmStep } from "../../attacks/fgsm.ts";
import type { Classifier, GradientResult } from "../../model/classifier.ts";
import {
  attackReasons,
  type AttackReport,
  type CleanGradient,
  describeAttack,
  exceeded,
  isLargeInput,
  linfBudget,
  type Probe,
} from "../probe.ts";
import { AttackRowsSchema } from "./attack_schema.ts";

export interface FgsmSettings {
  eps: number[];
}

const FgsmLayer = z.union([z.literal(false), z.object({ eps: z.array(z.number().min(0).max(1)).min(1) }).strict()]);

/**
 * The step built from a check's clean gradient in `screening`, found again in `run` (the rows are in the screening
 * pass; the step also maps their logits to results). Keyed by the gradient, which lives as long as its check.
 */
const steps = new WeakMap<GradientResult, FgsmStep>();

function stepOf(settings: FgsmSettings, input: { classifier: Classifier; pixels: Float32Array }, clean: CleanGradient) {
  let step = steps.get(clean.result);
  if (!step) {
    step = fgsmStep(input.classifier, input.pixels, clean.result, { labels: [clean.label], eps: settings.eps });
    steps.set(clean.result, step);
  }
  return step;
}

/**
 * FGSM (Goodfellow et al.) at a few L∞ budgets: one gradient for all of them. Untargeted on exact gradients, that
 * gradient is the check's clean gradient and the stepped images are rows of the screening pass.
 */
export const fgsmProbe: Probe<"fgsm", typeof FgsmLayer, FgsmSettings, AttackReport[]> = {
  key: "fgsm",
  report: "attacks",
  layer: FgsmLayer,
  section: AttackRowsSchema,
  serverDefault: (model) => fgsmProbe.fallback(model),
  // The screening profile keeps FGSM: it is its only attack (one gradient, one forward row per ε).
  // Large inputs: only the default L∞ budget (the standard PGD probe's ε), the one ε that answers
  // "does one gradient step within the budget change the prediction".
  profiles: {
    screen: (model) => isLargeInput(model) ? { eps: [linfBudget(model)] } : fgsmProbe.fallback(model),
    thorough: (model) => fgsmProbe.fallback(model),
  },
  fallback: ({ manifest }) => ({
    eps: manifest.input.channels === 1 ? [0.05, 0.1, 0.25] : [2 / 255, 4 / 255, 8 / 255],
  }),
  overlay: (_previous, layer) => ({ eps: [...layer.eps] }),
  limits(settings, _model, limits) {
    if (settings.eps.length > limits.maxEpsList) exceeded("maxEpsList", `at most ${limits.maxEpsList} FGSM ε values`);
  },
  cost: (settings, gradientCost) => estimateFgsmCost({ images: 1, epsCount: settings.eps.length, gradientCost }),
  cleanGradient: true,
  screening(settings, input) {
    return Promise.resolve(input.clean ? stepOf(settings, input, input.clean).rows : new Float32Array());
  },
  async run(settings, context) {
    const names = context.classifier.manifest.labels;
    const { clean } = context;
    const [results] = await context.timed(
      "fgsmMs",
      () =>
        clean
          ? stepOf(settings, context, clean).results(context.screeningLogits)
          : fgsm(context.classifier, context.pixels, {
            labels: [context.label],
            eps: settings.eps,
            targets: context.targets,
            signal: context.signal,
          }),
    );
    return {
      section: results.map((r) => describeAttack(r, false, names)),
      candidates: results.filter((r) => r.success).map((r) => ({
        source: `fgsm ε=${r.eps}`,
        pixels: r.adversarialPixels,
        linf: r.perturbation.linf,
      })),
    };
  },
  verdict: attackReasons,
};
