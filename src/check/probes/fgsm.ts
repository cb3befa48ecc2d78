import { z } from "zod";
import { estimateFgsmCost, fgsm } from "../../attacks/fgsm.ts";
import {
  attackReasons,
  type AttackReport,
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

/** FGSM (Goodfellow et al.) at a few L∞ budgets: one gradient each. */
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
  async run(settings, context) {
    const names = context.classifier.manifest.labels;
    const [results] = await context.timed(
      "fgsmMs",
      () =>
        fgsm(context.classifier, context.pixels, {
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
