/**
 * APGD-CE and APGD-DLR (Croce & Hein 2020, src/attacks/apgd.ts) at each ε of the list, one batched
 * `apgd` call per ε. Entry p (the p-th ε) draws its boundary starts from stage `stage + p` of each
 * image's seed (seeds.ts), so an image's result never depends on its shard. DLR needs three
 * classes: on a model with fewer, APGD-DLR is `unavailable` and left out of the plan, even when the
 * plan names it (the report's `too_few_classes_for_dlr` flag says why it is missing).
 */
import { z } from "zod";
import { apgd, estimateApgdCost } from "../../attacks/apgd.ts";
import { serverDefaults } from "../../check/options.ts";
import { DLR_MIN_CLASSES } from "../../../kernels/loss.ts";
import { type AttackRunner, checkIterative, perEpsilon, type ResolvedAttack } from "./types.ts";

/** AutoAttack's standard budget: 100 steps, 1 restart (the check's PGD steps are used when lower). */
const APGD_DEFAULT_STEPS = 100;

function apgdRunner<K extends "apgd-ce" | "apgd-dlr">(kind: K, loss: "ce" | "dlr") {
  const Spec = z.object({
    kind: z.literal(kind),
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,31}$/).optional(),
    norm: z.enum(["linf", "l2"]),
    eps: z.array(z.number().min(0)).min(1).max(16),
    steps: z.number().int().min(1).default(APGD_DEFAULT_STEPS),
    restarts: z.number().int().min(1).default(1),
    rho: z.number().min(0).max(1).optional(),
  }).strict();
  type Spec = z.input<typeof Spec>;
  interface Resolved extends ResolvedAttack {
    kind: K;
    steps: number;
    restarts: number;
    rho?: number;
  }
  const runner: AttackRunner<Spec, Resolved> = {
    kind,
    schema: Spec as unknown as z.ZodType<Spec>,
    defaults(model) {
      const check = serverDefaults(model);
      // Default audits run APGD only with exact gradients (on SPSA models it costs 100 estimates per step).
      if (!check.pgd || !check.fgsm || model.gradientMode === "spsa") return [];
      return [{ kind, norm: "linf", eps: check.fgsm.eps, steps: APGD_DEFAULT_STEPS } as Spec];
    },
    unavailable(model) {
      const classes = model.manifest.labels.length;
      return loss === "dlr" && classes < DLR_MIN_CLASSES
        ? `DLR needs at least ${DLR_MIN_CLASSES} classes; this model has ${classes}`
        : null;
    },
    resolve(spec, _model, stage) {
      return {
        id: spec.id ?? `${kind}-${spec.norm}`,
        kind,
        norm: spec.norm,
        eps: [...spec.eps],
        steps: spec.steps ?? APGD_DEFAULT_STEPS,
        restarts: spec.restarts ?? 1,
        rho: spec.rho,
        stage,
      };
    },
    stages: (a) => a.eps.length,
    cost: (a, images, gradientCost) =>
      a.eps.length * estimateApgdCost({ images, steps: a.steps, restarts: a.restarts, gradientCost }),
    check: checkIterative,
    run: (a, context) =>
      perEpsilon(a, context, (eps, _k, seeds) =>
        apgd(context.classifier, context.pixels, {
          norm: a.norm,
          eps,
          steps: a.steps,
          restarts: a.restarts,
          loss,
          rho: a.rho,
          seed: 0,
          seeds,
          labels: context.labels,
        })),
  };
  return runner;
}

export const apgdCeRunner = apgdRunner("apgd-ce", "ce");
export const apgdDlrRunner = apgdRunner("apgd-dlr", "dlr");
