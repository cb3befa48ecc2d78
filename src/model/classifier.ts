import type { Manifest } from "./manifest.ts";

/**
 * Every loss a gradient can be taken of, per row against `labels[row]` (kernels/loss.ts). Gradient graphs are derived
 * for each of them when a model loads, so adding a loss here is the one line that registers it.
 */
export const LOSS_KINDS = ["ce", "margin", "dlr"] as const;
export type LossKind = typeof LOSS_KINDS[number];

/**
 * The label that asks a derived gradient graph for the row's own prediction (src/autodiff/derive.ts: any negative
 * label does); only `gradientAtPrediction` sends it.
 */
export const PREDICTED_LABEL = -1;

/** Where a gradient came from: the derived ONNX gradient graph, or a black-box SPSA estimate. */
export type GradientMode = "exact" | "spsa";

export interface GradientResult {
  /** [batch, classes]; for probability models these are log(max(p, 1e-30)). */
  logits: Float32Array;
  /**
   * [batch]: ce = −log softmax(z)[y]; margin = max_{j≠y} z_j − z_y;
   * dlr = −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3 + 1e-12) (π: descending order; ≥ 3 classes).
   */
  loss: Float32Array;
  /** [batch, C, H, W], ∂loss[row]/∂pixels[row] in [0,1] pixel space. */
  grad: Float32Array;
  mode: GradientMode;
}

/**
 * The one shape the service needs from a model. Pixels are always NCHW float32 in [0,1] at the
 * model's input size; preprocessing (scale, mean/std, layout) happens behind this interface.
 */
export interface Classifier {
  readonly manifest: Manifest;
  readonly sha256: string;
  readonly backend: string;
  readonly gradientMode: GradientMode;
  /** Ops that have no gradient rule (empty when gradientMode is "exact"). */
  readonly unsupportedOps: readonly string[];
  logits(pixels: Float32Array, batch: number): Promise<Float32Array>;
  gradient(
    pixels: Float32Array,
    batch: number,
    labels: Int32Array,
    loss: LossKind,
  ): Promise<GradientResult>;
  /**
   * The gradient at each row's own predicted class (argmax of its logits, first max) and those classes, in one pass
   * where the gradient graph can pick the class itself. Optional: callers without it take the logits first.
   */
  gradientAtPrediction?(pixels: Float32Array, batch: number, loss: LossKind): Promise<PredictedGradient>;
}

export interface PredictedGradient extends GradientResult {
  /** [batch]: the class each row's gradient was taken at. */
  labels: Int32Array;
}
