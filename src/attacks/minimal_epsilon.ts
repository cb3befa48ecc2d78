/**
 * Smallest L∞ ε (within a bisection tolerance) at which untargeted PGD breaks the prediction:
 * an upper bound on the image's robust radius, relative to this inner attack.
 *
 * Per image, in this order:
 * 1. one forward of the clean image: argmax ≠ label → `{broken: true, epsilon: 0, bounds: [0, 0]}`;
 * 2. PGD at ε = high fails → `{broken: false, epsilon: null, bounds: [high, null]}`;
 * 3. lo = low, hi = high; `bisectionSteps` times: mid = (lo + hi)/2 (float64); PGD at mid
 *    succeeds → hi = mid, else lo = mid. Result `{broken: true, epsilon: hi, bounds: [lo, hi]}`.
 * The inner attack is `pgd` with norm "linf", eps = ε, alpha = alphaFactor·ε, `steps`, one
 * restart, untargeted, `loss` (default "ce"), random start only when asked. `low` is never
 * attacked: it is the caller's claim that smaller ε do not break the image. Bisection assumes
 * success is monotone in ε, which PGD only approximates.
 *
 * All unresolved images run each PGD round together as one batch (per-row ε). With
 * `randomStart`, one `createRng(seed)` serves the whole call: round after round (high first),
 * within a round in image order; with `seeds`, image i draws its starts round after round from
 * its own `createRng(seeds[i])` (independent of the batch; for one image, the same as `seed`).
 */
import type { Classifier, LossKind } from "../model/classifier.ts";
import { argmax } from "../../kernels/softmax.ts";
import { createRng, type Rng } from "../../kernels/rng.ts";
import { checkNumber, imageBatch } from "./batch.ts";
import { addEvaluations, DEFAULT_GRADIENT_COST, emptyEvaluations, type Evaluations } from "./cost.ts";
import { classifierGradient, descend } from "./engine.ts";
import { linf } from "./norms.ts";

export interface MinimalEpsilonOptions {
  /** One true label per image. */
  labels: ArrayLike<number>;
  low: number;
  high: number;
  bisectionSteps: number;
  /** Inner PGD steps. */
  steps: number;
  /** Inner PGD step size as a fraction of ε. */
  alphaFactor: number;
  randomStart: boolean;
  seed: number;
  /** One seed per image (overrides `seed`). */
  seeds?: ArrayLike<number>;
  loss?: LossKind;
  /** Checked before every batch of every round (see engine.ts). */
  signal?: AbortSignal;
}

export type MinimalEpsilonResult =
  | {
    broken: true;
    /** Upper end of the final bracket; 0 when the clean image is already misclassified. */
    epsilon: number;
    bounds: [number, number];
    evaluations: Evaluations;
  }
  | {
    broken: false;
    epsilon: null;
    /** PGD failed at `high`; no upper bound. */
    bounds: [number, null];
    evaluations: Evaluations;
  };

export interface MinimalEpsilonCostOptions {
  images: number;
  bisectionSteps: number;
  steps: number;
  /** Forward-pass equivalents of one gradient row (default 2, see cost.ts). */
  gradientCost?: number;
}

/**
 * Upper bound: a clean forward plus (1 + bisectionSteps) PGD runs of one restart per image,
 * images · (1 + (1 + bisectionSteps) · (gradientCost · steps + 1)).
 */
export function estimateMinimalEpsilonCost(o: MinimalEpsilonCostOptions): number {
  const run = (o.gradientCost ?? DEFAULT_GRADIENT_COST) * o.steps + 1;
  return o.images * (1 + (1 + o.bisectionSteps) * run);
}

/** L∞ random starts with a radius per row; row by row = one pass over the rows in order. */
function randomStarts(origin: Float32Array, eps: Float64Array, rngOf: (row: number) => Rng): Float32Array {
  const size = origin.length / eps.length;
  const out = new Float32Array(origin.length);
  eps.forEach((e, r) => {
    out.set(linf.randomStart(origin.subarray(r * size, (r + 1) * size), 1, e, rngOf(r)), r * size);
  });
  return out;
}

export async function minimalEpsilon(
  classifier: Classifier,
  pixels: Float32Array,
  options: MinimalEpsilonOptions,
): Promise<MinimalEpsilonResult[]> {
  const { images, size, classes, labels } = imageBatch(classifier, pixels, options.labels);
  checkNumber("low", options.low);
  checkNumber("high", options.high);
  if (options.high <= options.low) throw new RangeError("high must exceed low");
  checkNumber("bisectionSteps", options.bisectionSteps, { integer: true });
  checkNumber("steps", options.steps, { integer: true });
  checkNumber("alphaFactor", options.alphaFactor);
  const loss = options.loss ?? "ce";
  const shared: Rng | null = options.randomStart && !options.seeds ? createRng(options.seed) : null;
  const perImage = options.randomStart && options.seeds ? Array.from(options.seeds, (s) => createRng(s)) : null;
  const evaluations = Array.from({ length: images }, emptyEvaluations);

  /** One PGD round on `subset` at per-image ε; returns which succeeded. */
  const round = async (subset: number[], eps: Float64Array): Promise<boolean[]> => {
    const origin = new Float32Array(subset.length * size);
    subset.forEach((i, k) => origin.set(pixels.subarray(i * size, (i + 1) * size), k * size));
    const outcome = await descend({
      classifier,
      gradient: classifierGradient(classifier),
      norm: linf,
      loss,
      targeted: false,
      steps: options.steps,
      origin,
      start: shared
        ? randomStarts(origin, eps, () => shared)
        : perImage
        ? randomStarts(origin, eps, (k) => perImage[subset[k]])
        : origin.slice(),
      eps,
      alpha: eps.map((e) => options.alphaFactor * e),
      gradientLabels: Int32Array.from(subset, (i) => labels[i]),
      groups: Int32Array.from(subset, (_, k) => k),
      isAdversarial: (z, k) => argmax(z, { rows: 1, cols: classes })[0] !== labels[subset[k]],
      signal: options.signal,
    });
    subset.forEach((i, k) => {
      evaluations[i] = addEvaluations(evaluations[i], outcome.evaluations[k]);
    });
    return outcome.success.map((s) => s !== null);
  };

  options.signal?.throwIfAborted();
  const clean = await classifier.logits(pixels, images);
  const cleanPred = argmax(clean, { rows: images, cols: classes });
  evaluations.forEach((e) => e.forwardRows += 1);
  const correct = Array.from({ length: images }, (_, i) => i).filter((i) => cleanPred[i] === labels[i]);
  const highOk = correct.length > 0 ? await round(correct, new Float64Array(correct.length).fill(options.high)) : [];
  const open = correct.filter((_, k) => highOk[k]);
  const lo = new Float64Array(images).fill(options.low);
  const hi = new Float64Array(images).fill(options.high);
  for (let s = 0; s < options.bisectionSteps && open.length > 0; s++) {
    const mid = Float64Array.from(open, (i) => (lo[i] + hi[i]) / 2);
    const ok = await round(open, mid);
    open.forEach((i, k) => {
      if (ok[k]) hi[i] = mid[k];
      else lo[i] = mid[k];
    });
  }

  const broken = new Set(open);
  return Array.from({ length: images }, (_, i): MinimalEpsilonResult => {
    if (cleanPred[i] !== labels[i]) {
      return { broken: true, epsilon: 0, bounds: [0, 0], evaluations: evaluations[i] };
    }
    if (!broken.has(i)) {
      return { broken: false, epsilon: null, bounds: [options.high, null], evaluations: evaluations[i] };
    }
    return { broken: true, epsilon: hi[i], bounds: [lo[i], hi[i]], evaluations: evaluations[i] };
  });
}
