/**
 * What every attack reports per image, and how its fields are computed:
 * - `adversarial.index` = argmax of the logits at the reported iterate, ties to the first max;
 *   `adversarial.confidence` = softmax(z)[index] (float64 softmax rounded to float32);
 * - `perturbation` = L∞ and L2 norms of adversarialPixels − clean pixels, in [0,1] pixel space,
 *   accumulated in float64 over the float32 values.
 */
import { argmax, softmax } from "../../kernels/softmax.ts";
import type { GradientMode, LossKind } from "../model/classifier.ts";

export type NormName = "linf" | "l2";

export interface Prediction {
  index: number;
  confidence: number;
}

export interface Perturbation {
  linf: number;
  l2: number;
}

/** Every attack the engine runs, as results name it. */
export const ATTACK_KINDS = ["fgsm", "pgd", "eot-pgd", "apgd-ce", "apgd-dlr"] as const;

export interface AttackResult {
  attack: typeof ATTACK_KINDS[number];
  norm: NormName;
  eps: number;
  steps: number;
  alpha: number;
  restarts: number;
  targeted: boolean;
  /** The target class when targeted, else null. */
  target: number | null;
  loss: LossKind;
  /** Untargeted: argmax ≠ label; targeted: argmax = target (see each attack for when). */
  success: boolean;
  /** First adversarial iterate (0 = start) on success; the number of steps run on failure. */
  iterations: number;
  /** Which restart the reported pixels come from. */
  restart: number;
  adversarial: Prediction;
  perturbation: Perturbation;
  /** The classifier's gradient source: exact derived gradients or an SPSA estimate. */
  gradient: GradientMode;
  /** [1, C, H, W] in [0,1]. */
  adversarialPixels: Float32Array;
}

/** Prediction of one logits row: first-max argmax and its softmax probability. */
export function predictionOf(logits: Float32Array): Prediction {
  const shape = { rows: 1, cols: logits.length };
  const index = argmax(logits, shape)[0];
  return { index, confidence: softmax(logits, shape)[index] };
}

/** ‖adversarial − clean‖∞ and ‖adversarial − clean‖₂ (float64 accumulation). */
export function perturbationOf(
  adversarial: Float32Array,
  clean: Float32Array,
): Perturbation {
  let linf = 0;
  let sq = 0;
  for (let i = 0; i < clean.length; i++) {
    const d = Math.abs(adversarial[i] - clean[i]);
    if (d > linf) linf = d;
    sq += d * d;
  }
  return { linf, l2: Math.sqrt(sq) };
}
