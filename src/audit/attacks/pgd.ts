/**
 * PGD (L∞ or L2) at each ε of the list, one batched `pgd` call per ε. α defaults to Madry et al.'s
 * 2.5·ε/steps per ε; probe p (the p-th ε of this attack) draws its random starts from stage
 * `stage + p` of each image's seed (seeds.ts), as the check's p-th PGD probe does.
 */
import { z } from "zod";
import { estimatePgdCost, pgd } from "../../attacks/pgd.ts";
import { serverDefaults } from "../../check/options.ts";
import { type AttackRunner, checkIterative, perEpsilon, type ResolvedAttack } from "./types.ts";

/** Madry et al.'s step size when none is given. */
export const madryAlpha = (eps: number, steps: number): number => 2.5 * eps / steps;

const PgdSpec = z.object({
  kind: z.literal("pgd"),
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,31}$/).optional(),
  norm: z.enum(["linf", "l2"]),
  eps: z.array(z.number().min(0)).min(1).max(16),
  steps: z.number().int().min(1).default(20),
  restarts: z.number().int().min(1).default(1),
  randomStart: z.boolean().default(true),
  /** One α for every ε, or one per ε; absent = 2.5·ε/steps. */
  alpha: z.union([z.number().positive(), z.array(z.number().positive()).min(1)]).optional(),
  loss: z.enum(["ce", "margin"]).default("ce"),
}).strict();
type PgdSpec = z.input<typeof PgdSpec>;

export interface ResolvedPgd extends ResolvedAttack {
  kind: "pgd";
  steps: number;
  restarts: number;
  randomStart: boolean;
  /** One per ε. */
  alpha: number[];
  loss: "ce" | "margin";
}

/** The PGD settings of the attack's k-th ε: what one `pgd` call (and the check's k-th PGD probe) runs with. */
export function pgdAt(a: ResolvedPgd, k: number) {
  const { norm, steps, randomStart, restarts, loss } = a;
  return { norm, eps: a.eps[k], alpha: a.alpha[k], steps, randomStart, restarts, loss };
}

export const pgdRunner: AttackRunner<PgdSpec, ResolvedPgd> = {
  kind: "pgd",
  schema: PgdSpec as unknown as z.ZodType<PgdSpec>,
  defaults(model) {
    const check = serverDefaults(model);
    if (!check.pgd) return [];
    const grey = model.manifest.input.channels === 1;
    const linfEps = check.fgsm ? check.fgsm.eps : [check.pgd[0].eps];
    const steps = check.pgd[0].steps;
    if (model.gradientMode === "spsa") return [{ kind: "pgd", norm: "linf", eps: linfEps, steps, randomStart: true }];
    return [
      { kind: "pgd", norm: "linf", eps: linfEps, steps, randomStart: true },
      { kind: "pgd", norm: "l2", eps: grey ? [0.5, 1, 1.5] : [0.125, 0.25, 0.5], steps, randomStart: true },
    ];
  },
  resolve(spec, _model, stage) {
    const steps = spec.steps ?? 20;
    const alpha = spec.eps.map((e, k) =>
      spec.alpha === undefined
        ? madryAlpha(e, steps)
        : typeof spec.alpha === "number"
        ? spec.alpha
        : spec.alpha[k] ?? NaN
    );
    if (alpha.some(Number.isNaN)) throw new RangeError(`alpha: give one step size or one per ε (${spec.eps.length})`);
    return {
      id: spec.id ?? `pgd-${spec.norm}`,
      kind: "pgd",
      norm: spec.norm,
      eps: [...spec.eps],
      steps,
      restarts: spec.restarts ?? 1,
      randomStart: spec.randomStart ?? true,
      alpha,
      loss: spec.loss ?? "ce",
      stage,
    };
  },
  stages: (a) => a.eps.length,
  cost: (a, images, gradientCost) =>
    a.eps.length * estimatePgdCost({ images, steps: a.steps, restarts: a.restarts, gradientCost }),
  check: checkIterative,
  run: (a, context) =>
    perEpsilon(a, context, (_eps, k, seeds) =>
      pgd(context.classifier, context.pixels, {
        ...pgdAt(a, k),
        seed: 0,
        seeds,
        labels: context.labels,
        signal: context.signal,
      })),
};
