/**
 * Fast gradient sign method (Goodfellow et al. 2015) as one step of the L∞ engine update:
 * x1 = clip01(x0 + ε·s·sign(∇loss(x0))) with sign(0) = 0, s = +1 untargeted (ce/margin of the
 * label), s = −1 targeted (loss of the target); the ε-ball clamp is a no-op for one step of
 * size ε. As in PGD, iterate 0 (the clean image) counts: an image already adversarial there is a
 * success with `iterations` 0 and the clean pixels; otherwise success means x1 is adversarial
 * (untargeted: argmax ≠ label; targeted: argmax = target; first max on ties), `iterations` 1.
 *
 * The gradient at x0 does not depend on ε, so it is computed once per image (one gradient call
 * for the whole batch) and all ε are then checked with one forward call — the same numbers as
 * `pgd({norm: "linf", steps: 1, alpha: ε, randomStart: false, restarts: 1})` for each ε.
 */
import type { Classifier, GradientResult, LossKind } from "../model/classifier.ts";
import { argmax } from "../../kernels/softmax.ts";
import { checkNumber, type ImageBatch, imageBatch } from "./batch.ts";
import { DEFAULT_GRADIENT_COST } from "./cost.ts";
import { signStepProjected } from "../../kernels/norms.ts";
import { type AttackResult, perturbationOf, predictionOf } from "./result.ts";

export interface FgsmOptions {
  /** One true label per image. */
  labels: ArrayLike<number>;
  eps: readonly number[];
  /** One target class per image; present = targeted attack. */
  targets?: ArrayLike<number>;
  /** Loss to take the gradient of (default "ce"). */
  loss?: LossKind;
  /** Checked before each of the two batches. */
  signal?: AbortSignal;
}

export interface FgsmCostOptions {
  images: number;
  /** Number of ε values. */
  epsCount: number;
  /** Forward-pass equivalents of one gradient row (default 2, see cost.ts). */
  gradientCost?: number;
}

/** Upper bound: one gradient row per image plus one forward row per (image, ε). */
export function estimateFgsmCost(o: FgsmCostOptions): number {
  return o.images * ((o.gradientCost ?? DEFAULT_GRADIENT_COST) + o.epsCount);
}

/** FGSM's adversarial rows from the clean gradient, and how their logits become the results. */
export interface FgsmStep {
  /** One row per (image not adversarial at x0, ε), ε-major: [rows, C, H, W]. */
  rows: Float32Array;
  count: number;
  /** Results indexed [image][ε index] from the rows' logits ([count, classes]). */
  results(rowLogits: Float32Array): AttackResult[][];
}

/**
 * The step half of FGSM: `clean` is the gradient of `options.loss` (default "ce") at `pixels` against the targets
 * (targeted) or the labels — what `fgsm` asks the classifier for; a caller that already has it (the check's clean
 * gradient) evaluates the rows itself, e.g. in a batch with other rows.
 */
export function fgsmStep(
  classifier: Classifier,
  pixels: Float32Array,
  clean: GradientResult,
  options: FgsmOptions,
): FgsmStep {
  return stepFrom(checkedBatch(classifier, pixels, options), pixels, clean, options);
}

/** The images, labels and targets of an FGSM call, with every ε checked. */
function checkedBatch(classifier: Classifier, pixels: Float32Array, options: FgsmOptions): ImageBatch {
  const batch = imageBatch(classifier, pixels, options.labels, options.targets);
  options.eps.forEach((e, k) => checkNumber(`eps[${k}]`, e));
  return batch;
}

function stepFrom(batch: ImageBatch, pixels: Float32Array, clean: GradientResult, options: FgsmOptions): FgsmStep {
  const { images, size, classes, labels, targets } = batch;
  const loss = options.loss ?? "ce";
  const adversarialAt = (z: Float32Array, i: number): boolean => {
    const k = argmax(z, { rows: 1, cols: classes })[0];
    return targets ? k === targets[i] : k !== labels[i];
  };
  const cleanLogits = (i: number) => clean.logits.subarray(i * classes, (i + 1) * classes);
  const open = Array.from({ length: images }, (_, i) => i).filter((i) => !adversarialAt(cleanLogits(i), i));
  const openIndex = new Int32Array(images).fill(-1);
  open.forEach((i, j) => openIndex[i] = j);

  // One row per (open image, ε), ε-major; stepped bit-identically to the engine (linf.step, the float32 sum,
  // then linf.project) in one pass per row: at 224² FGSM's row is on the check's critical path.
  const count = open.length * options.eps.length;
  const stepped = new Float32Array(count * size);
  const sign = targets ? -1 : 1;
  options.eps.forEach((e, k) => {
    open.forEach((i, j) => {
      const r = k * open.length + j;
      signStepProjected(pixels.subarray(i * size, (i + 1) * size), clean.grad.subarray(i * size, (i + 1) * size), {
        alpha: sign * e,
        eps: e,
        out: stepped.subarray(r * size, (r + 1) * size),
      });
    });
  });

  const results = (z1: Float32Array) => {
    if (z1.length !== count * classes) throw new RangeError(`expected ${count * classes} logits, got ${z1.length}`);
    return Array.from({ length: images }, (_, i) => {
      const x0 = pixels.subarray(i * size, (i + 1) * size);
      const j = openIndex[i];
      return options.eps.map((e, k): AttackResult => {
        let adv = x0.slice();
        let z = cleanLogits(i).slice();
        let success = true;
        let iterations = 0;
        if (j >= 0) {
          const r = k * open.length + j;
          adv = stepped.slice(r * size, (r + 1) * size);
          z = z1.slice(r * classes, (r + 1) * classes);
          success = adversarialAt(z, i);
          iterations = 1;
        }
        return {
          attack: "fgsm",
          norm: "linf",
          eps: e,
          steps: 1,
          alpha: e,
          restarts: 1,
          targeted: targets !== null,
          target: targets ? targets[i] : null,
          loss,
          success,
          iterations,
          restart: 0,
          adversarial: predictionOf(z),
          perturbation: perturbationOf(adv, x0),
          gradient: clean.mode,
          adversarialPixels: adv,
        };
      });
    });
  };
  return { rows: stepped, count, results };
}

/** Results indexed [image][ε index]. */
export async function fgsm(
  classifier: Classifier,
  pixels: Float32Array,
  options: FgsmOptions,
): Promise<AttackResult[][]> {
  const batch = checkedBatch(classifier, pixels, options); // before the gradient is paid for
  options.signal?.throwIfAborted();
  const { images, labels, targets } = batch;
  const clean = await classifier.gradient(pixels, images, targets ?? labels, options.loss ?? "ce");
  const step = stepFrom(batch, pixels, clean, options);
  options.signal?.throwIfAborted();
  return step.results(step.count > 0 ? await classifier.logits(step.rows, step.count) : new Float32Array(0));
}
