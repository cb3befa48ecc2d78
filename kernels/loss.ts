/**
 * Per-row classification losses on logits `[rows, classes]`, the same definitions the derived
 * gradient graph computes (docs/ARCHITECTURE.md), in float64 (finite differences of these losses
 * — SPSA, the gradient check — need more than float32's 7 digits):
 * - `ce`: −log softmax(z)[y], with the max subtracted first for stability;
 * - `margin` (Carlini & Wagner): max_{j≠y} z_j − z_y.
 */
export function rowLosses(
  logits: ArrayLike<number>,
  classes: number,
  labels: ArrayLike<number>,
  kind: "ce" | "margin",
): Float64Array {
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
    } else {
      let other = -Infinity;
      for (let j = 0; j < classes; j++) if (j !== y) other = Math.max(other, logits[base + j]);
      out[r] = other - logits[base + y];
    }
  }
  return out;
}
