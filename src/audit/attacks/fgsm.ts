/** FGSM at each ε of the list (src/attacks/fgsm.ts: one gradient per image, all ε in one forward). */
import { z } from "zod";
import { estimateFgsmCost, fgsm } from "../../attacks/fgsm.ts";
import { serverDefaults } from "../../check/options.ts";
import { type AttackRunner, type ResolvedAttack, sampleOf } from "./types.ts";

const FgsmSpec = z.object({
  kind: z.literal("fgsm"),
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,31}$/).optional(),
  eps: z.array(z.number().min(0).max(1)).min(1).max(16),
  loss: z.enum(["ce", "margin"]).default("ce"),
}).strict();
type FgsmSpec = z.input<typeof FgsmSpec>;

export interface ResolvedFgsm extends ResolvedAttack {
  kind: "fgsm";
  loss: "ce" | "margin";
}

export const fgsmRunner: AttackRunner<FgsmSpec, ResolvedFgsm> = {
  kind: "fgsm",
  schema: FgsmSpec as unknown as z.ZodType<FgsmSpec>,
  defaults(model) {
    const check = serverDefaults(model);
    return check.fgsm ? [{ kind: "fgsm", eps: check.fgsm.eps }] : [];
  },
  resolve(spec, _model, stage) {
    return { id: spec.id ?? "fgsm", kind: "fgsm", norm: "linf", eps: [...spec.eps], loss: spec.loss ?? "ce", stage };
  },
  stages: () => 0,
  cost: (a, images, gradientCost) => estimateFgsmCost({ images, epsCount: a.eps.length, gradientCost }),
  check: () => null,
  async run(a, { classifier, pixels, labels, signal }) {
    const results = await fgsm(classifier, pixels, { labels, eps: a.eps, loss: a.loss, signal });
    return a.eps.map((_, k) => results.map((perEps) => sampleOf(perEps[k])));
  },
};
