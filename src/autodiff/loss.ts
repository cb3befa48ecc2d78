/**
 * Per-row losses on logits z [N,K] against int64 labels [N], with their closed-form ∂loss/∂z:
 * - `ce`:     loss = −log softmax(z)[y];          ∂/∂z = softmax(z) − onehot(y)
 * - `margin`: loss = max_{j≠y} z_j − z_y;         ∂/∂z = onehot(j*) − onehot(y), where j* is the
 *   FIRST index attaining the max over j≠y (ArgMax convention, like torch.max(dim)); with ties
 *   the whole gradient goes to that one index.
 * For probability outputs z = log(max(p, 1e-30)); ∂z/∂p = 1/max(p,1e-30) where p ≥ 1e-30, else 0.
 */
import type { GraphBuilder } from "./graph.ts";
import type { LossKind } from "../model/classifier.ts";

/** Smallest probability kept before the log (the service-wide convention). */
export const PROB_FLOOR = 1e-30;
const LOWEST_F32 = -3.4028234663852886e38;

export interface LossNodes {
  loss: string;
  /** ∂loss[row]/∂z[row], [N,K]. */
  gradLogits: string;
}

/** Emit the loss and its gradient w.r.t. the logits. */
export function emitLoss(b: GraphBuilder, z: string, labels: string, classes: number, kind: LossKind): LossNodes {
  const range = b.constI64(Array.from({ length: classes }, (_, i) => i), [1, classes]);
  const isLabel = b.op("Equal", [b.unsqueeze(labels, [1]), range]);
  const onehot = b.toFloat(isLabel);
  if (kind === "ce") {
    const logp = b.op("LogSoftmax", [z], { axis: { i: 1 } });
    const loss = b.op("Neg", [b.reduceSum(b.op("Mul", [logp, onehot]), [1], false)]);
    const gradLogits = b.op("Sub", [b.op("Softmax", [z], { axis: { i: 1 } }), onehot]);
    return { loss, gradLogits };
  }
  const others = b.op("Where", [isLabel, b.constF32([LOWEST_F32], []), z]);
  const zy = b.reduceSum(b.op("Mul", [z, onehot]), [1], false);
  const loss = b.op("Sub", [b.reduceMax(others, [1], false), zy]);
  const best = b.op("ArgMax", [others], { axis: { i: 1 }, keepdims: { i: 1 } });
  const gradLogits = b.op("Sub", [b.toFloat(b.op("Equal", [best, range])), onehot]);
  return { loss, gradLogits };
}

/** z = log(max(p, 1e-30)) and the pull-back dz → dp. */
export function emitLogProbabilities(
  b: GraphBuilder,
  p: string,
): { z: string; backward: (dz: string) => string } {
  const floor = b.constF32([PROB_FLOOR], []);
  const clamped = b.op("Max", [p, floor]);
  const z = b.op("Log", [clamped]);
  return {
    z,
    backward: (dz) => b.op("Where", [b.op("Less", [p, floor]), b.constF32([0], []), b.op("Div", [dz, clamped])]),
  };
}
