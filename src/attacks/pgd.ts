/**
 * Projected gradient descent (Madry et al. 2018) on the engine in engine.ts.
 *
 * Conventions (an independent implementation must match these):
 * - rows: image i, restart r is row i·restarts + r; all rows run as one batch;
 * - iterate 0 is the clean image, or with `randomStart` a random point of the ε-ball (norm
 *   strategy's `randomStart`, draws from `createRng(seed)` in row order, then clipped to [0,1];
 *   with `seeds`, image i's restarts draw in order from its own `createRng(seeds[i])`, so its
 *   result does not depend on the other images of the batch — for one image, the same as `seed`);
 * - x_{t+1} = Proj(x_t + α·step): L∞ step = sign(g) with sign(0) = 0; L2 step =
 *   g / max(‖g‖₂, 1e-12) (so 0 when g = 0); g = ∇loss of the true label (untargeted) or −∇loss
 *   of the target (targeted). Rounding: α·step is rounded to float32 and added to x_t in float32;
 *   Proj clamps x − x0 into the ε-ball (L∞: to [−ε, ε]; L2: scaled by min(1, ε/‖x − x0‖₂)) and
 *   clips to [0,1] in float64, rounded to float32 (kernels/norms.ts);
 * - success: some iterate t ∈ 0..steps of some restart is adversarial (untargeted: argmax ≠
 *   label; targeted: argmax = target; argmax ties go to the first max). The reported iterate is
 *   the first such t (lowest restart on ties); the image's rows then leave the batch;
 * - on failure the reported restart is the one whose final iterate has the lowest softmax
 *   probability of the label (untargeted) or the highest of the target (targeted), first on ties,
 *   and `iterations` = steps.
 */
import type { Classifier, LossKind } from "../model/classifier.ts";
import { argmax, softmax } from "../../kernels/softmax.ts";
import { createRng } from "../../kernels/rng.ts";
import { checkNumber, imageBatch } from "./batch.ts";
import { DEFAULT_GRADIENT_COST } from "./cost.ts";
import { classifierGradient, descend, type DescentOutcome } from "./engine.ts";
import { normStrategy } from "./norms.ts";
import { type AttackResult, type NormName, perturbationOf, predictionOf } from "./result.ts";

export interface PgdOptions {
  norm: NormName;
  eps: number;
  alpha: number;
  steps: number;
  randomStart: boolean;
  restarts: number;
  loss: LossKind;
  seed: number;
  /** One seed per image (overrides `seed`): per-image random starts, independent of the batch. */
  seeds?: ArrayLike<number>;
  /** One true label per image. */
  labels: ArrayLike<number>;
  /** One target class per image; present = targeted attack. */
  targets?: ArrayLike<number>;
  /** Stops the attack between batches (see engine.ts). */
  signal?: AbortSignal;
}

export interface PgdCostOptions {
  images: number;
  steps: number;
  restarts: number;
  /** Forward-pass equivalents of one gradient row (default 2, see cost.ts). */
  gradientCost?: number;
}

/**
 * Upper bound on the forward-pass equivalents `pgd` spends: every row takes `steps` gradient
 * calls and one final forward, i.e. images · restarts · (gradientCost · steps + 1).
 */
export function estimatePgdCost(o: PgdCostOptions): number {
  return o.images * o.restarts * ((o.gradientCost ?? DEFAULT_GRADIENT_COST) * o.steps + 1);
}

/** Picks the reported row of image i out of a descent outcome (see module doc). */
function reportImage(
  outcome: DescentOutcome,
  i: number,
  rowsPerImage: number,
  classes: number,
  size: number,
  label: number,
  target: number | null,
): { row: number; iterate: number | null; pixels: Float32Array; logits: Float32Array } {
  const hit = outcome.success[i];
  if (hit) return { row: hit.row, iterate: hit.iterate, pixels: hit.pixels, logits: hit.logits };
  const rows = Array.from({ length: rowsPerImage }, (_, r) => i * rowsPerImage + r);
  const z = new Float32Array(rows.length * classes);
  rows.forEach((row, k) => z.set(outcome.finalLogits.subarray(row * classes, (row + 1) * classes), k * classes));
  const p = softmax(z, { rows: rows.length, cols: classes });
  const cls = target ?? label;
  let best = 0;
  for (let k = 1; k < rows.length; k++) {
    const better = target === null
      ? p[k * classes + cls] < p[best * classes + cls]
      : p[k * classes + cls] > p[best * classes + cls];
    if (better) best = k;
  }
  const row = rows[best];
  return {
    row,
    iterate: null,
    pixels: outcome.final.slice(row * size, (row + 1) * size),
    logits: z.slice(best * classes, (best + 1) * classes),
  };
}

/** Random starts drawn image by image: `draw(i, rowsOfImage)` returns the rows of image i. */
export function perImageStarts(
  origin: Float32Array,
  images: number,
  draw: (image: number, rows: Float32Array) => Float32Array,
): Float32Array {
  const block = origin.length / images;
  const out = new Float32Array(origin.length);
  for (let i = 0; i < images; i++) out.set(draw(i, origin.subarray(i * block, (i + 1) * block)), i * block);
  return out;
}

/** Runs PGD on every image of `pixels` ([n, C, H, W], n = labels.length); one result per image. */
export async function pgd(
  classifier: Classifier,
  pixels: Float32Array,
  options: PgdOptions,
): Promise<AttackResult[]> {
  const batch = imageBatch(classifier, pixels, options.labels, options.targets);
  checkNumber("eps", options.eps);
  checkNumber("alpha", options.alpha);
  checkNumber("steps", options.steps, { integer: true });
  checkNumber("restarts", options.restarts, { integer: true, min: 1 });
  const { images, size, classes, labels, targets } = batch;
  const restarts = options.restarts;
  const rows = images * restarts;
  const norm = normStrategy(options.norm);
  const groups = Int32Array.from({ length: rows }, (_, r) => Math.floor(r / restarts));
  const origin = new Float32Array(rows * size);
  groups.forEach((i, r) => origin.set(pixels.subarray(i * size, (i + 1) * size), r * size));
  const eps = new Float64Array(rows).fill(options.eps);
  const start = !options.randomStart
    ? origin.slice()
    : options.seeds
    ? perImageStarts(origin, images, (i, o) => norm.randomStart(o, restarts, options.eps, createRng(options.seeds![i])))
    : norm.randomStart(origin, rows, options.eps, createRng(options.seed));
  const outcome = await descend({
    classifier,
    gradient: classifierGradient(classifier),
    norm,
    loss: options.loss,
    targeted: targets !== null,
    steps: options.steps,
    origin,
    start,
    eps,
    alpha: new Float64Array(rows).fill(options.alpha),
    gradientLabels: Int32Array.from(groups, (i) => (targets ?? labels)[i]),
    groups,
    isAdversarial: (z, r) => {
      const k = argmax(z, { rows: 1, cols: classes })[0];
      const i = groups[r];
      return targets ? k === targets[i] : k !== labels[i];
    },
    signal: options.signal,
  });
  return Array.from({ length: images }, (_, i) => {
    const target = targets ? targets[i] : null;
    const pick = reportImage(outcome, i, restarts, classes, size, labels[i], target);
    return {
      attack: "pgd",
      norm: options.norm,
      eps: options.eps,
      steps: options.steps,
      alpha: options.alpha,
      restarts,
      targeted: target !== null,
      target,
      loss: options.loss,
      success: pick.iterate !== null,
      iterations: pick.iterate ?? options.steps,
      restart: pick.row - i * restarts,
      adversarial: predictionOf(pick.logits),
      perturbation: perturbationOf(pick.pixels, pixels.subarray(i * size, (i + 1) * size)),
      gradient: classifier.gradientMode,
      adversarialPixels: pick.pixels,
    };
  });
}
