import { z } from "zod";
import { DLR_MIN_CLASSES } from "../../../kernels/loss.ts";
import { estimatePgdCost, pgd } from "../../attacks/pgd.ts";
import { LOSS_KINDS, type LossKind } from "../../model/classifier.ts";
import {
  attackReasons,
  type AttackReport,
  type Candidate,
  describeAttack,
  exceeded,
  linfBudget,
  type Probe,
  ProbeLimitError,
  STAGE,
  stageSeed,
} from "../probe.ts";
import { derivedStep } from "../step_size.ts";
import { AttackRowsSchema } from "./attack_schema.ts";

export interface PgdSettings {
  norm: "linf" | "l2";
  eps: number;
  alpha: number;
  steps: number;
  randomStart: boolean;
  restarts: number;
  loss: LossKind;
}

const int = (min: number) => z.number().int().min(min);

const PgdLayer = z.union([
  z.literal(false),
  z.array(
    z.object({
      norm: z.enum(["linf", "l2"]).default("linf"),
      eps: z.number().min(0),
      alpha: z.number().positive().optional(),
      steps: int(1).default(20),
      randomStart: z.boolean().default(false),
      restarts: int(1).default(1),
      loss: z.enum(LOSS_KINDS).default("ce"),
    }).strict(),
  ).min(1),
]);

/**
 * PGD (Madry et al.) probes, L∞ and L2, each with its own seed stream. The defaults are one L∞ probe
 * at the model's budget and one L2 probe, 20 steps; a model without exact gradients gets only the
 * L∞ one with 10 steps.
 */
export const pgdProbe: Probe<"pgd", typeof PgdLayer, PgdSettings[], AttackReport[]> = {
  key: "pgd",
  report: "attacks",
  layer: PgdLayer,
  section: AttackRowsSchema,
  serverDefault(model) {
    const [first] = pgdProbe.fallback(model);
    return model.gradientMode === "spsa"
      ? [{ ...first, steps: 10, alpha: derivedStep(first.eps, 10) }]
      : pgdProbe.fallback(model);
  },
  profiles: {
    screen: () => false,
    // 50 steps, 4 restarts from random starts per probe; SPSA models keep the standard probe (its
    // gradients already cost most of maxCost).
    thorough: (model) => {
      const standard = pgdProbe.serverDefault(model) as PgdSettings[];
      if (model.gradientMode === "spsa") return standard;
      return standard.map((p) => ({ ...p, steps: 50, alpha: derivedStep(p.eps, 50), restarts: 4, randomStart: true }));
    },
  },
  fallback(model) {
    const grey = model.manifest.input.channels === 1;
    const budget = linfBudget(model);
    const l2 = grey ? 1.5 : 0.5;
    return [
      {
        norm: "linf",
        eps: budget,
        alpha: derivedStep(budget, 20),
        steps: 20,
        randomStart: false,
        restarts: 1,
        loss: "ce",
      },
      { norm: "l2", eps: l2, alpha: derivedStep(l2, 20), steps: 20, randomStart: false, restarts: 1, loss: "ce" },
    ];
  },
  overlay: (_previous, layer) => layer.map((p) => ({ ...p, alpha: p.alpha ?? derivedStep(p.eps, p.steps) })),
  limits(probes, { manifest }, limits) {
    if (probes.length > limits.maxPgdProbes) exceeded("maxPgdProbes", `at most ${limits.maxPgdProbes} PGD probes`);
    const { channels, height, width } = manifest.input;
    const l2Max = Math.sqrt(channels * height * width);
    for (const p of probes) {
      if (p.steps > limits.maxSteps) exceeded("maxSteps", `PGD steps ${p.steps} > ${limits.maxSteps}`);
      if (p.restarts > limits.maxRestarts) {
        exceeded("maxRestarts", `PGD restarts ${p.restarts} > ${limits.maxRestarts}`);
      }
      if (p.norm === "linf" && p.eps > 1) exceeded("maxEps", `L∞ ε ${p.eps} > 1`);
      if (p.norm === "l2" && p.eps > l2Max) exceeded("maxEps", `L2 ε ${p.eps} > √(C·H·W) = ${l2Max.toFixed(3)}`);
      if (p.loss === "dlr" && manifest.labels.length < DLR_MIN_CLASSES) {
        throw new ProbeLimitError(
          "invalid_options",
          `options.pgd: the dlr loss needs at least ${DLR_MIN_CLASSES} classes; this model has ${manifest.labels.length}`,
        );
      }
    }
  },
  cost: (probes, gradientCost) =>
    probes.reduce(
      (sum, p) => sum + estimatePgdCost({ images: 1, steps: p.steps, restarts: p.restarts, gradientCost }),
      0,
    ),
  run(probes, context) {
    const names = context.classifier.manifest.labels;
    return context.timed("pgdMs", async () => {
      const section: AttackReport[] = [];
      const candidates: Candidate[] = [];
      for (const [i, p] of probes.entries()) {
        const [r] = await pgd(context.classifier, context.pixels, {
          ...p,
          seed: stageSeed(context.seed, STAGE.pgd + i),
          labels: [context.label],
          targets: context.targets,
          signal: context.signal,
        });
        section.push(describeAttack(r, p.randomStart, names));
        if (r.success) {
          candidates.push({
            source: `pgd ${p.norm} ε=${p.eps}`,
            pixels: r.adversarialPixels,
            linf: r.perturbation.linf,
          });
        }
      }
      return { section, candidates };
    });
  },
  verdict: attackReasons,
};
