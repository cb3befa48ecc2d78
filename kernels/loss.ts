/**
 * Per-row classification losses on logits `[rows, classes]`, the same definitions the derived
 * gradient graph computes (docs/ARCHITECTURE.md), in float64 (finite differences of these losses
 * — SPSA, the gradient check — need more than float32's 7 digits):
 * - `ce`: −log softmax(z)[y], with the max subtracted first for stability;
 * - `margin` (Carlini & Wagner): max_{j≠y} z_j − z_y;
 * - `dlr` (Croce & Hein 2020, untargeted): −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3 + 1e-12) with π
 *   the classes sorted by descending logit (`topThree`); needs at least 3 classes.
 */

/** The losses defined here (the same set as the service's LossKind). */
export type RowLossKind = "ce" | "margin" | "dlr";

/** DLR divides by z_π1 − z_π3, so it needs a third class. */
export const DLR_MIN_CLASSES = 3;
/** Added to DLR's denominator (AutoAttack's value), so tied top logits do not divide by zero. */
export const DLR_DENOMINATOR_FLOOR = 1e-12;

/** A loss asked of a model with too few classes (DLR on fewer than 3). */
export class TooFewClassesError extends RangeError {
  constructor(readonly loss: RowLossKind, readonly classes: number, readonly needed: number) {
    super(`the ${loss} loss needs at least ${needed} classes, the model has ${classes}`);
    this.name = "TooFewClassesError";
  }
}

/** Throws TooFewClassesError when `kind` is undefined for `classes` classes. */
export function checkLossClasses(kind: RowLossKind, classes: number): void {
  if (kind === "dlr" && classes < DLR_MIN_CLASSES) throw new TooFewClassesError(kind, classes, DLR_MIN_CLASSES);
}

/**
 * Class indices π1, π2, π3 of the three largest logits of the row at `base`, in descending order.
 * Ties rank the HIGHER class index first: the order of the last three entries of an ascending
 * stable sort (`torch.sort(stable=True)`, which is also what torch's default sort does on CPU for
 * up to 16 classes), read from the end — AutoAttack's `x.sort(dim=1)` convention.
 */
export function topThree(logits: ArrayLike<number>, base: number, classes: number): [number, number, number] {
  const top: number[] = [];
  for (let j = classes - 1; j >= 0; j--) {
    const v = logits[base + j];
    // Scanning from the highest index, a strictly larger value is needed to move ahead of a tie.
    let at = top.length;
    while (at > 0 && v > logits[base + top[at - 1]]) at--;
    if (at < 3) {
      top.splice(at, 0, j);
      if (top.length > 3) top.pop();
    }
  }
  return [top[0], top[1], top[2]];
}

export function rowLosses(
  logits: ArrayLike<number>,
  classes: number,
  labels: ArrayLike<number>,
  kind: RowLossKind,
): Float64Array {
  checkLossClasses(kind, classes);
  const rows = labels.length;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    const y = labels[r];
    if (kind === "ce") {
      let max = -Infinity;
      for (let j = 0; j < classes; j++) max = Math.max(max, logits[base + j]);
      let sum = 0;
      for (let j = 0; j < classes; j++) sum += Math.exp(logits[base + j] - max);
      out[r] = Math.log(sum) + max - logits[base + y];
    } else if (kind === "margin") {
      let other = -Infinity;
      for (let j = 0; j < classes; j++) if (j !== y) other = Math.max(other, logits[base + j]);
      out[r] = other - logits[base + y];
    } else {
      const [p1, p2, p3] = topThree(logits, base, classes);
      const other = p1 === y ? p2 : p1;
      const denominator = logits[base + p1] - logits[base + p3] + DLR_DENOMINATOR_FLOOR;
      out[r] = -(logits[base + y] - logits[base + other]) / denominator;
    }
  }
  return out;
}
