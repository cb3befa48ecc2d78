/** Test support: the per-image /check an audit's rows must equal (same probes, seed imageSeed(seed, index)). */
import { type ModelFacts, resolveOptions } from "../../check/options.ts";
import type { EotSettings } from "../../check/probes/randomization.ts";
import { type CheckReport, runCheck } from "../../check/run_check.ts";
import type { Classifier } from "../../model/classifier.ts";
import { pgdAt, type ResolvedPgd } from "../attacks/pgd.ts";
import type { EffectivePlan } from "../plan.ts";
import { imageSeed } from "../seeds.ts";
import type { ShardImage } from "../shard.ts";

/** /check on `image` with the plan's squeezers, randomization, FGSM ε, PGD entries (one probe per ε) and minimal ε. */
export async function checkLikeAudit(
  plan: EffectivePlan,
  facts: ModelFacts,
  classifier: Classifier,
  image: ShardImage,
): Promise<CheckReport> {
  const pgdProbes = plan.attacks.filter((a): a is ResolvedPgd => a.kind === "pgd").flatMap((a) =>
    a.eps.map((_, k) => pgdAt(a, k))
  );
  const options = resolveOptions(facts, {
    label: image.label,
    seed: imageSeed(plan.seed, image.index),
    squeeze: { squeezers: plan.squeeze!.squeezers },
    randomization: { ...plan.randomization!, eot: plan.randomization!.eot as EotSettings },
    fgsm: { eps: plan.attacks[0].eps },
    pgd: pgdProbes,
    minimalEpsilon: plan.minimalEpsilon!,
  });
  return await runCheck({
    classifier,
    pixels: image.pixels!,
    options,
    threshold: { value: null, source: "none" },
    budget: 1e9,
  });
}
