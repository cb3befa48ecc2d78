/**
 * The audit plan: what to run on every image, with defaults derived from the model the way the
 * check derives its own (src/check/options.ts; the squeeze, randomization and minimal-ε sections
 * are resolved by the check's own overlay, manifest `defaults.check` included).
 *
 * Defaults (exact gradients): clean accuracy; FGSM at the check's ε list ({0.05, 0.1, 0.25} grey,
 * {2, 4, 8}/255 colour); PGD L∞ at the same list and PGD L2 at {0.5, 1, 1.5} (grey) /
 * {0.125, 0.25, 0.5} (colour), 20 steps, 1 restart, random start, α = 2.5·ε/steps; the minimal-ε
 * search, feature squeezing and randomized resizing + EoT-PGD as in the check; SPSA-PGD L∞ at the
 * check's ε₀ (0.1 / 8/255) on 16 images (10 steps, spsaSamples(d) directions, δ = 0.01) as the
 * gradient-masking check; shards of 32 images; 8 examples. Models without exact gradients get the
 * check's light defaults (FGSM + 10-step PGD L∞ only) and no SPSA check (their gradients already
 * are SPSA). APGD-CE and APGD-DLR L∞ at the FGSM ε list, 100 steps (AutoAttack's budget), with exact
 * gradients; APGD-DLR is left out on models with fewer than 3 classes.
 */
import { z } from "zod";
import {
  checkLimits,
  type EffectiveOptions,
  type ModelFacts,
  resolveOptions,
  serverDefaults,
} from "../check/options.ts";
import { type CheckLimits, CheckOptionsSchema, DEFAULT_CHECK_LIMITS } from "../check/options.ts";
import { estimateEotPgdCost } from "../attacks/eot_pgd.ts";
import { estimateMinimalEpsilonCost } from "../attacks/minimal_epsilon.ts";
import { estimatePgdCost } from "../attacks/pgd.ts";
import { RequestError } from "../errors.ts";
import { SPSA_DELTA } from "../runtime/spsa.ts";
import { spsaCostPerRow, spsaSamples } from "../model/gradient_cost.ts";
import { ATTACK_RUNNERS, attackRunner } from "./attacks/registry.ts";
import type { ResolvedAttack } from "./attacks/types.ts";
import { madryAlpha } from "./attacks/pgd.ts";
import { STAGE, stageSeed } from "./seeds.ts";
import { stratifiedSubsample } from "../dataset/subsample.ts";

export const PLAN_VERSION = 1;

const AttackSpecSchema = z.discriminatedUnion(
  "kind",
  ATTACK_RUNNERS.map((r) => r.schema) as unknown as [z.ZodObject, ...z.ZodObject[]],
);

const checkSection = CheckOptionsSchema.shape;

export const AuditPlanSchema = z.object({
  seed: z.number().int().min(0).max(0xffffffff).optional(),
  shardSize: z.number().int().min(1).max(256).optional(),
  subsample: z.union([
    z.literal(false),
    z.object({ size: z.number().int().min(1), seed: z.number().int().min(0).max(0xffffffff).optional() }).strict(),
  ]).optional(),
  attacks: z.array(AttackSpecSchema).min(1).max(16).optional(),
  minimalEpsilon: checkSection.minimalEpsilon,
  squeeze: checkSection.squeeze,
  randomization: checkSection.randomization,
  spsa: z.union([
    z.literal(false),
    z.object({
      images: z.number().int().min(1).optional(),
      eps: z.array(z.number().min(0).max(1)).min(1).max(4).optional(),
      steps: z.number().int().min(1).optional(),
      samples: z.number().int().min(1).max(8192).optional(),
      delta: z.number().positive().max(0.5).optional(),
    }).strict(),
  ]).optional(),
  examples: z.number().int().min(0).max(64).optional(),
}).strict();

export type AuditPlanInput = z.input<typeof AuditPlanSchema>;

export interface SpsaCheck {
  images: number;
  norm: "linf";
  eps: number[];
  steps: number;
  /** One per ε: 2.5·ε/steps. */
  alpha: number[];
  samples: number;
  delta: number;
}

/** Every field resolved; this is what the report prints as the effective plan. */
export interface EffectivePlan {
  version: number;
  seed: number;
  shardSize: number;
  subsample: null | { size: number; seed: number };
  attacks: ResolvedAttack[];
  minimalEpsilon: Exclude<EffectiveOptions["minimalEpsilon"], false> | null;
  squeeze: Exclude<EffectiveOptions["squeeze"], false> | null;
  randomization: Exclude<EffectiveOptions["randomization"], false> | null;
  spsa: SpsaCheck | null;
  examples: number;
}

export interface AuditLimits extends CheckLimits {
  /** Images after subsampling. */
  maxImages: number;
  /** Forward-pass equivalents for the whole audit. */
  maxAuditCost: number;
  /** SPSA sample size. */
  maxSpsaImages: number;
}

export const DEFAULT_AUDIT_LIMITS: AuditLimits = {
  ...DEFAULT_CHECK_LIMITS,
  maxImages: 20_000,
  maxAuditCost: 200_000_000,
  maxSpsaImages: 256,
};

/** 422 `invalid_plan` naming the field. */
export function parsePlan(raw: unknown): z.output<typeof AuditPlanSchema> {
  const parsed = AuditPlanSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RequestError(422, "invalid_plan", `plan.${issue.path.join(".")}: ${issue.message}`);
  }
  return parsed.data;
}

/** Resolves a plan against the model (request over manifest `defaults.check` over the server's). */
export function resolvePlan(model: ModelFacts, raw: unknown): EffectivePlan {
  const input = parsePlan(raw);
  const checkLayer = {
    ...(input.minimalEpsilon !== undefined ? { minimalEpsilon: input.minimalEpsilon } : {}),
    ...(input.squeeze !== undefined ? { squeeze: input.squeeze } : {}),
    ...(input.randomization !== undefined ? { randomization: input.randomization } : {}),
  };
  const manifestLayer = model.manifest.defaults?.check;
  const check = resolveOptions(model, ...(manifestLayer ? [manifestLayer, checkLayer] : [checkLayer]));
  const squeeze = check.squeeze
    ? {
      ...check.squeeze,
      threshold: check.squeeze.threshold ??
        (input.squeeze && input.squeeze.squeezers ? null : model.manifest.defaults?.squeezeThreshold ?? null),
    }
    : null;

  const specs = ((input.attacks as { kind: string }[] | undefined) ?? ATTACK_RUNNERS.flatMap((r) => r.defaults(model)))
    .filter((spec) => !attackRunner(spec.kind).unavailable?.(model));
  let stage: number = STAGE.pgd;
  const attacks = specs.map((spec) => {
    const runner = attackRunner(spec.kind);
    let resolved: ResolvedAttack;
    try {
      resolved = runner.resolve(spec, model, stage);
    } catch (error) {
      throw new RequestError(422, "invalid_plan", `plan.attacks: ${(error as Error).message}`);
    }
    stage += runner.stages(resolved);
    return resolved;
  });
  const ids = new Set<string>();
  for (const a of attacks) {
    if (ids.has(a.id)) {
      throw new RequestError(
        422,
        "invalid_plan",
        `plan.attacks: two attacks have the id ${JSON.stringify(a.id)}; give one an "id"`,
      );
    }
    ids.add(a.id);
  }

  const { channels, height, width } = model.manifest.input;
  const d = channels * height * width;
  const budget = channels === 1 ? 0.1 : 8 / 255;
  let spsa: SpsaCheck | null = null;
  // Only meaningful against exact gradients: a model on SPSA gradients is already attacked by SPSA.
  if (input.spsa !== false && model.gradientMode === "exact") {
    const s = input.spsa || {};
    const steps = s.steps ?? 10;
    const eps = s.eps ?? [budget];
    spsa = {
      images: s.images ?? 16,
      norm: "linf",
      eps,
      steps,
      alpha: eps.map((e) => madryAlpha(e, steps)),
      samples: s.samples ?? spsaSamples(d),
      delta: s.delta ?? SPSA_DELTA,
    };
  }
  const seed = input.seed ?? 0;
  return {
    version: PLAN_VERSION,
    seed,
    shardSize: input.shardSize ?? 32,
    subsample: input.subsample ? { size: input.subsample.size, seed: input.subsample.seed ?? seed } : null,
    attacks,
    minimalEpsilon: check.minimalEpsilon || null,
    squeeze,
    randomization: check.randomization || null,
    spsa,
    examples: input.examples ?? 8,
  };
}

/** Forward-pass equivalents per stage for `images` images (upper bounds, as the check's). */
export function estimatePlanCost(plan: EffectivePlan, model: ModelFacts, images: number): Record<string, number> {
  const { channels, height, width } = model.manifest.input;
  const gradientCost = model.gradientMode === "spsa" ? spsaCostPerRow(channels * height * width) : 2;
  const cost: Record<string, number> = {};
  // Clean forward twice (determinism probe) + one clean gradient (zero-gradient probe).
  cost.clean = images * (2 + gradientCost);
  const entries = plan.attacks.reduce((n, a) => n + a.eps.length, 0);
  for (const a of plan.attacks) cost[a.id] = attackRunner(a.kind).cost(a, images, gradientCost);
  // Each scored image goes through the model with its squeezed versions: S + 1 rows, for the
  // clean image and for every successful adversarial example (at most one per attack entry).
  if (plan.squeeze) cost.squeeze = images * (plan.squeeze.squeezers.length + 1) * (1 + entries);
  if (plan.randomization) {
    const r = plan.randomization;
    cost.randomization = images * r.draws;
    if (r.eot) {
      cost.eot = estimateEotPgdCost({
        images,
        steps: r.eot.steps,
        samples: r.eot.samples,
        evalDraws: r.draws,
        gradientCost,
      });
    }
  }
  if (plan.minimalEpsilon) {
    const m = plan.minimalEpsilon;
    cost.minimalEpsilon = estimateMinimalEpsilonCost({
      images,
      bisectionSteps: m.bisectionSteps,
      steps: m.steps,
      gradientCost,
    });
  }
  if (plan.spsa) {
    const s = plan.spsa;
    const sampled = Math.min(s.images, images);
    cost.spsa = s.eps.length *
      estimatePgdCost({ images: sampled, steps: s.steps, restarts: 1, gradientCost: 2 * s.samples + 1 });
  }
  return cost;
}

/** Refuses a plan over the limits before any work starts (422 `limit_exceeded` naming the limit). */
export function checkPlanLimits(plan: EffectivePlan, model: ModelFacts, images: number, limits: AuditLimits): number {
  const fail = (message: string) => {
    throw new RequestError(422, "limit_exceeded", message);
  };
  if (images > limits.maxImages) fail(`maxImages: ${images} images > ${limits.maxImages} (use plan.subsample)`);
  for (const a of plan.attacks) {
    const message = attackRunner(a.kind).check(a, limits);
    if (message) fail(message);
    if (a.eps.length > limits.maxEpsList) {
      fail(`maxEpsList: ${a.id} has ${a.eps.length} ε values > ${limits.maxEpsList}`);
    }
    const { channels, height, width } = model.manifest.input;
    const l2Max = Math.sqrt(channels * height * width);
    for (const e of a.eps) {
      if (a.norm === "linf" && e > 1) fail(`maxEps: ${a.id} L∞ ε ${e} > 1`);
      if (a.norm === "l2" && e > l2Max) fail(`maxEps: ${a.id} L2 ε ${e} > √(C·H·W) = ${l2Max.toFixed(3)}`);
    }
  }
  if (plan.spsa) {
    if (plan.spsa.images > limits.maxSpsaImages) fail(`maxSpsaImages: ${plan.spsa.images} > ${limits.maxSpsaImages}`);
    if (plan.spsa.steps > limits.maxSteps) fail(`maxSteps: spsa steps ${plan.spsa.steps} > ${limits.maxSteps}`);
  }
  // The check's own bounds on the squeeze / randomization / minimal-ε sections.
  checkLimits(
    {
      label: null,
      target: null,
      seed: 0,
      topK: 1,
      squeeze: plan.squeeze ?? false,
      randomization: plan.randomization ?? false,
      fgsm: false,
      pgd: false,
      minimalEpsilon: plan.minimalEpsilon ?? false,
      sweep: false,
      return: [],
    },
    model,
    limits,
  );
  const total = Object.values(estimatePlanCost(plan, model, images)).reduce((a, b) => a + b, 0);
  if (total > limits.maxAuditCost) {
    fail(
      `maxAuditCost: this plan needs up to ${total} forward-pass equivalents for ${images} images; the limit is ${limits.maxAuditCost}`,
    );
  }
  return total;
}

/** The images of shard k: indices [k·S, min((k+1)·S, n)). */
export function shardRange(plan: Pick<EffectivePlan, "shardSize">, images: number, shard: number): [number, number] {
  const start = shard * plan.shardSize;
  return [Math.min(start, images), Math.min(start + plan.shardSize, images)];
}

export function shardCount(plan: Pick<EffectivePlan, "shardSize">, images: number): number {
  return Math.ceil(images / plan.shardSize);
}

export { serverDefaults };

/** The audit's images: all dataset indices, or the plan's seeded stratified subsample (ascending). */
export function selectImages(plan: EffectivePlan, labels: readonly number[]): number[] {
  if (!plan.subsample) return labels.map((_, i) => i);
  return stratifiedSubsample(labels, plan.subsample.size, plan.subsample.seed);
}

/** Audit image indices the SPSA check runs on: a stratified sample seeded by stage `spsaSample`. */
export function spsaSample(plan: EffectivePlan, labels: readonly number[]): number[] {
  if (!plan.spsa) return [];
  return stratifiedSubsample(labels, plan.spsa.images, stageSeed(plan.seed, STAGE.spsaSample));
}
