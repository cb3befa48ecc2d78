/**
 * Per-row losses on logits z [N,K] against int64 labels [N], with their closed-form ∂loss/∂z:
 * - `ce`:     loss = −log softmax(z)[y];          ∂/∂z = softmax(z) − onehot(y)
 * - `margin`: loss = max_{j≠y} z_j − z_y;         ∂/∂z = onehot(j*) − onehot(y), where j* is the
 *   FIRST index attaining the max over j≠y (ArgMax convention, like torch.max(dim)); with ties
 *   the whole gradient goes to that one index.
 * - `dlr` (Croce & Hein 2020): loss = −N/D with N = z_y − z_o, D = z_π1 − z_π3 + 1e-12, π the
 *   descending order of z with ties ranked higher class index first (torch.sort(stable=True) read
 *   from the end, kernels/loss.ts `topThree`) and o = π2 if π1 = y else π1 (AutoAttack's
 *   formulation of max_{i≠y}); ∂/∂z = (onehot(o) − onehot(y))/D + (onehot(π1) − onehot(π3))·N/D².
 *   π comes from three ArgMax passes (first max) over z with the class axis reversed, each pass
 *   masking the previous winner — valid at every opset 9–21. Needs ≥ 3 classes.
 * For probability outputs z = log(max(p, 1e-30)); ∂z/∂p = 1/max(p,1e-30) where p ≥ 1e-30, else 0.
 */
import type { GraphBuilder } from "./graph.ts";
import type { LossKind } from "../model/classifier.ts";
import { checkLossClasses, DLR_DENOMINATOR_FLOOR } from "../../kernels/loss.ts";

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
  checkLossClasses(kind, classes);
  if (kind === "dlr") return emitDlr(b, z, labels, classes);
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

/** DLR loss and its gradient (see module doc); z [N,K], labels int64 [N]. */
function emitDlr(b: GraphBuilder, z: string, labels: string, classes: number): LossNodes {
  const range = b.constI64(Array.from({ length: classes }, (_, i) => i), [1, classes]);
  const last = b.constI64([classes - 1], [1, 1]);
  const lowest = b.constF32([LOWEST_F32], []);
  // In the reversed order ArgMax's first-max rule picks the highest original index among ties.
  let masked = b.op("Gather", [z, b.constI64(Array.from({ length: classes }, (_, i) => classes - 1 - i))], {
    axis: { i: 1 },
  });
  const reversedMax = b.reduceMax(masked, [1], true);
  const ranks: string[] = [];
  for (let k = 0; k < 3; k++) {
    const at = b.op("ArgMax", [masked], { axis: { i: 1 }, keepdims: { i: 1 } });
    ranks.push(b.op("Sub", [last, at]));
    if (k < 2) masked = b.op("Where", [b.op("Equal", [at, range]), lowest, masked]);
  }
  const thirdMax = b.reduceMax(masked, [1], true);
  const [p1, p2, p3] = ranks;
  const y = b.unsqueeze(labels, [1]);
  const other = b.op("Where", [b.op("Equal", [p1, y]), p2, p1]);
  const onehotOf = (index: string) => b.toFloat(b.op("Equal", [index, range]));
  const onehotY = onehotOf(y);
  const onehotO = onehotOf(other);
  const zy = b.reduceSum(b.op("Mul", [z, onehotY]), [1], true);
  const zo = b.reduceSum(b.op("Mul", [z, onehotO]), [1], true);
  const numerator = b.op("Sub", [zy, zo]);
  const denominator = b.op("Add", [b.op("Sub", [reversedMax, thirdMax]), b.constF32([DLR_DENOMINATOR_FLOOR], [])]);
  const loss = b.reshape(b.op("Neg", [b.op("Div", [numerator, denominator])]), [-1]);
  const inverse = b.op("Div", [b.constF32([1], []), denominator]);
  const spread = b.op("Div", [numerator, b.op("Mul", [denominator, denominator])]);
  const gradLogits = b.op("Add", [
    b.op("Mul", [b.op("Sub", [onehotO, onehotY]), inverse]),
    b.op("Mul", [b.op("Sub", [onehotOf(p1), onehotOf(p3)]), spread]),
  ]);
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
