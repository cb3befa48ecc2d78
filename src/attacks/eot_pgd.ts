/**
 * Expectation over Transformation PGD (Athalye et al. 2018) against the random resize-pad
 * defence of Xie et al. 2018 (kernels/resize.ts).
 *
 * Each step replaces ∇loss(x) by the average over K fresh transforms T_k of the gradient of
 * loss(T_k x). T_k is linear (an index gather), so ∂loss(T_k x)/∂x = T_kᵀ ∇loss(T_k x) with Tᵀ =
 * `resizePadAdjoint`; the K·rows transformed copies go through the classifier in one gradient
 * call, and the average is (1/K)·Σ_k T_kᵀ g_k. The update, projection, random start and
 * targeted sign are PGD's (see pgd.ts), with one restart and no early stop: all `steps` run and
 * the last iterate is the adversarial.
 *
 * Judging: `evalDraws` fresh transforms per image are applied to the final iterate; the fooled
 * fraction is the share whose prediction is adversarial (untargeted: argmax ≠ label; targeted:
 * argmax = target; first max on ties) and success means fooledFraction > 0.5. `adversarial` is the
 * prediction on the untransformed final iterate.
 *
 * Randomness: one `createRng(seed)` per call, consumed in this order: random start (if asked),
 * then per step the transforms for (row, k) in row-major order, then the judging draws per
 * (image, draw); each transform is one `drawResizePad` (three `next()` draws). With `seeds`,
 * image i consumes its own `createRng(seeds[i])` in the same order (its start, its transforms
 * step by step, its judging draws), so its result does not depend on the batch; for one image
 * that is the same stream as `seed`.
 */
import type { Classifier, LossKind } from "../model/classifier.ts";
import { argmax } from "../../kernels/softmax.ts";
import { createRng, type Rng } from "../../kernels/rng.ts";
import {
  type BatchShape,
  drawResizePad,
  resizePadAdjoint,
  resizePadForward,
  type ResizePadRange,
  type ResizePadTransform,
} from "../../kernels/resize.ts";
import { checkNumber, imageBatch } from "./batch.ts";
import { DEFAULT_GRADIENT_COST } from "./cost.ts";
import { descend, type GradientSource } from "./engine.ts";
import { normStrategy } from "./norms.ts";
import { perImageStarts } from "./pgd.ts";
import { type AttackResult, type NormName, perturbationOf, predictionOf } from "./result.ts";

export interface EotPgdOptions {
  norm: NormName;
  eps: number;
  alpha: number;
  steps: number;
  randomStart: boolean;
  loss: LossKind;
  seed: number;
  /** One seed per image (overrides `seed`). */
  seeds?: ArrayLike<number>;
  /** One true label per image. */
  labels: ArrayLike<number>;
  /** One target class per image; present = targeted attack. */
  targets?: ArrayLike<number>;
  /** Transforms averaged per gradient step (K). */
  samples: number;
  /** Fresh transforms used to judge the final adversarial. */
  evalDraws: number;
  /** The defence's resize-pad range. */
  transform: ResizePadRange;
  /** Checked before every batch (see engine.ts). */
  signal?: AbortSignal;
}

export interface EotPgdResult extends AttackResult {
  attack: "eot-pgd";
  samples: number;
  randomization: { draws: number; fooledFraction: number };
}

export interface EotPgdCostOptions {
  images: number;
  steps: number;
  samples: number;
  evalDraws: number;
  /** Forward-pass equivalents of one gradient row (default 2, see cost.ts). */
  gradientCost?: number;
}

/** Exact cost: images · (gradientCost · samples · steps + evalDraws + 1). */
export function estimateEotPgdCost(o: EotPgdCostOptions): number {
  const g = o.gradientCost ?? DEFAULT_GRADIENT_COST;
  return o.images * (g * o.samples * o.steps + o.evalDraws + 1);
}

/** Transforms each CHW row of `x` with its own draw; returns the copies and the draws. */
function transformRows(
  x: Float32Array,
  rows: number,
  copies: number,
  image: Omit<BatchShape, "n">,
  rngOf: (row: number) => Rng,
  range: ResizePadRange,
): { out: Float32Array; draws: ResizePadTransform[]; one: BatchShape; size: number } {
  const size = image.channels * image.height * image.width;
  const one: BatchShape = { n: 1, ...image };
  const out = new Float32Array(rows * copies * size);
  const draws: ResizePadTransform[] = [];
  for (let r = 0; r < rows; r++) {
    const src = x.subarray(r * size, (r + 1) * size);
    const rng = rngOf(r);
    for (let k = 0; k < copies; k++) {
      const t = drawResizePad(() => rng.next(), range);
      draws.push(t);
      out.set(resizePadForward(src, one, t), (r * copies + k) * size);
    }
  }
  return { out, draws, one, size };
}

/**
 * EoT gradient source: (1/K)·Σ_k T_kᵀ ∇loss(T_k x), fresh T_k per call and row. With one `Rng`
 * per row (an array), row r always draws from rng[r]: valid because EoT-PGD never drops rows.
 */
export function eotGradient(
  classifier: Classifier,
  samples: number,
  rng: Rng | readonly Rng[],
  range: ResizePadRange,
): GradientSource {
  const rngOf = Array.isArray(rng) ? (row: number) => (rng as readonly Rng[])[row] : () => rng as Rng;
  const { channels, height, width } = classifier.manifest.input;
  return {
    rowsPerRow: samples,
    async compute(pixels, rows, labels, loss) {
      const { out, draws, one, size } = transformRows(
        pixels,
        rows,
        samples,
        { channels, height, width },
        rngOf,
        range,
      );
      const repeated = Int32Array.from({ length: rows * samples }, (_, q) => labels[Math.floor(q / samples)]);
      const r = await classifier.gradient(out, rows * samples, repeated, loss);
      const grad = new Float32Array(rows * size);
      const sum = new Float64Array(size);
      for (let row = 0; row < rows; row++) {
        sum.fill(0);
        for (let k = 0; k < samples; k++) {
          const q = row * samples + k;
          const back = resizePadAdjoint(r.grad.subarray(q * size, (q + 1) * size), one, draws[q]);
          for (let j = 0; j < size; j++) sum[j] += back[j];
        }
        for (let j = 0; j < size; j++) grad[row * size + j] = sum[j] / samples;
      }
      return { grad, logits: null };
    },
  };
}

export async function eotPgd(
  classifier: Classifier,
  pixels: Float32Array,
  options: EotPgdOptions,
): Promise<EotPgdResult[]> {
  const batch = imageBatch(classifier, pixels, options.labels, options.targets);
  checkNumber("eps", options.eps);
  checkNumber("alpha", options.alpha);
  checkNumber("steps", options.steps, { integer: true });
  checkNumber("samples", options.samples, { integer: true, min: 1 });
  checkNumber("evalDraws", options.evalDraws, { integer: true, min: 1 });
  const { images, size, classes, labels, targets } = batch;
  const { channels, height, width } = classifier.manifest.input;
  const norm = normStrategy(options.norm);
  const shared = createRng(options.seed);
  const rngs = options.seeds ? Array.from(options.seeds, (s) => createRng(s)) : null;
  const rngOf = rngs ? (row: number) => rngs[row] : () => shared;
  const eps = new Float64Array(images).fill(options.eps);
  const start = !options.randomStart
    ? pixels.slice()
    : rngs
    ? perImageStarts(pixels, images, (i, o) => norm.randomStart(o, 1, options.eps, rngs[i]))
    : norm.randomStart(pixels, images, options.eps, shared);
  const outcome = await descend({
    classifier,
    gradient: eotGradient(classifier, options.samples, rngs ?? shared, options.transform),
    norm,
    loss: options.loss,
    targeted: targets !== null,
    steps: options.steps,
    origin: pixels,
    start,
    eps,
    alpha: new Float64Array(images).fill(options.alpha),
    gradientLabels: Int32Array.from(targets ?? labels),
    groups: Int32Array.from({ length: images }, (_, i) => i),
    isAdversarial: null,
    signal: options.signal,
  });

  // Judge: the plain final iterate first, then evalDraws transformed copies, per image.
  const draws = options.evalDraws;
  const judged = transformRows(
    outcome.final,
    images,
    draws,
    { channels, height, width },
    rngOf,
    options.transform,
  ).out;
  const rows = images * (draws + 1);
  const batchPixels = new Float32Array(rows * size);
  batchPixels.set(outcome.final, 0);
  batchPixels.set(judged, images * size);
  options.signal?.throwIfAborted();
  const z = await classifier.logits(batchPixels, rows);
  const pred = argmax(z, { rows, cols: classes });

  return Array.from({ length: images }, (_, i): EotPgdResult => {
    const target = targets ? targets[i] : null;
    let fooled = 0;
    for (let k = 0; k < draws; k++) {
      const p = pred[images + i * draws + k];
      if (target !== null ? p === target : p !== labels[i]) fooled++;
    }
    const adv = outcome.final.slice(i * size, (i + 1) * size);
    const fooledFraction = fooled / draws;
    return {
      attack: "eot-pgd",
      norm: options.norm,
      eps: options.eps,
      steps: options.steps,
      alpha: options.alpha,
      restarts: 1,
      targeted: target !== null,
      target,
      loss: options.loss,
      success: fooledFraction > 0.5,
      iterations: options.steps,
      restart: 0,
      adversarial: predictionOf(z.slice(i * classes, (i + 1) * classes)),
      perturbation: perturbationOf(adv, pixels.subarray(i * size, (i + 1) * size)),
      gradient: classifier.gradientMode,
      adversarialPixels: adv,
      samples: options.samples,
      randomization: { draws, fooledFraction },
    };
  });
}
