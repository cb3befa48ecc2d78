/**
 * The attack-runner contract of audits. One module per attack kind exports a runner; the
 * registry (registry.ts) lists them, one line each, and the plan schema, defaults, cost estimate
 * and shard runner are built from that list. A runner says how its plan entry looks (zod), how it
 * is resolved against the model, what it costs, and how it runs on a batch of images.
 */
import type { z } from "zod";
import type { Classifier } from "../../model/classifier.ts";
import type { ModelFacts } from "../../check/options.ts";
import type { NormName } from "../rows.ts";
import type { AttackResult } from "../../attacks/result.ts";

/** Fields every resolved attack has; a runner adds its own settings. */
export interface ResolvedAttack {
  /** Unique within the plan, e.g. `pgd-linf`; rows and report entries are keyed by it. */
  id: string;
  kind: string;
  norm: NormName;
  eps: number[];
  /** Number of seeded probes it draws (consecutive stages from `stage`). */
  stage: number;
}

export interface AttackContext {
  classifier: Classifier;
  /** [n, C, H, W] in [0,1]. */
  pixels: Float32Array;
  labels: Int32Array;
  /** Per image: its seed for a stage (seeds.ts), so results do not depend on the batch. */
  seedOf(stage: number, image: number): number;
  /** Checked between ε values (a batch boundary); the attack loops may check it too. */
  signal?: AbortSignal;
}

/** One image under one ε. */
export interface AttackSample {
  success: boolean;
  iterations: number;
  prediction: number;
  perturbation: { linf: number; l2: number };
  pixels: Float32Array;
}

export interface AttackRunner<
  Spec extends { kind: string } = { kind: string },
  R extends ResolvedAttack = ResolvedAttack,
> {
  kind: Spec["kind"];
  /** The plan entry as a user writes it (strict; defaults filled by `resolve`). */
  schema: z.ZodType<Spec>;
  /** The default entries of this kind for a model (empty when it is not run by default). */
  defaults(model: ModelFacts): Spec[];
  /**
   * Why this kind cannot run on the model (e.g. DLR on fewer than 3 classes), or null. A plan entry
   * of an unavailable kind is left out rather than refused; the report's flags say why.
   */
  unavailable?(model: ModelFacts): string | null;
  /** Fills in defaults; `stage` is the first seed stage this attack may use. */
  resolve(spec: Spec, model: ModelFacts, stage: number): R;
  /** Seeded stages it uses (so the next attack's start is known). */
  stages(attack: R): number;
  /** Upper bound on forward-pass equivalents for `images` images. */
  cost(attack: R, images: number, gradientCost: number): number;
  /** Limits that depend on the attack (steps, restarts); returns an error message or null. */
  check(attack: R, limits: { maxSteps: number; maxRestarts: number }): string | null;
  /** Results indexed [ε index][image]. */
  run(attack: R, context: AttackContext): Promise<AttackSample[][]>;
}

/** The limits of an iterative attack (PGD, APGD): steps and restarts, naming the limit that is exceeded. */
export function checkIterative(
  a: { id: string; steps: number; restarts: number },
  limits: { maxSteps: number; maxRestarts: number },
): string | null {
  if (a.steps > limits.maxSteps) return `maxSteps: ${a.id} steps ${a.steps} > ${limits.maxSteps}`;
  if (a.restarts > limits.maxRestarts) return `maxRestarts: ${a.id} restarts ${a.restarts} > ${limits.maxRestarts}`;
  return null;
}

/** An attack result as an audit sample. */
export function sampleOf(r: AttackResult): AttackSample {
  return {
    success: r.success,
    iterations: r.iterations,
    prediction: r.adversarial.index,
    perturbation: r.perturbation,
    pixels: r.adversarialPixels,
  };
}

/**
 * An attack run once per ε of its list, [ε index][image]: the p-th ε seeds image i with its seed for
 * stage `stage + p`, and the signal is checked before each ε.
 */
export async function perEpsilon(
  a: ResolvedAttack,
  { labels, seedOf, signal }: AttackContext,
  attack: (eps: number, k: number, seeds: number[]) => Promise<AttackResult[]>,
): Promise<AttackSample[][]> {
  const out: AttackSample[][] = [];
  for (const [k, eps] of a.eps.entries()) {
    signal?.throwIfAborted();
    const seeds = Array.from(labels, (_, i) => seedOf(a.stage + k, i));
    out.push((await attack(eps, k, seeds)).map(sampleOf));
  }
  return out;
}
