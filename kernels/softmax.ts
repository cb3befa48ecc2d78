/** Row-major matrix shape: `rows` rows of `cols` values. */
export interface RowsShape {
  rows: number;
  cols: number;
}

function checkShape(x: Float32Array, { rows, cols }: RowsShape): void {
  if (x.length !== rows * cols) {
    throw new RangeError(`expected ${rows}×${cols} values, got ${x.length}`);
  }
}

/** Row-wise softmax: exp(z_j − max z) / Σ_k exp(z_k − max z), in float64, rounded to float32. */
export function softmax(z: Float32Array, shape: RowsShape): Float32Array {
  checkShape(z, shape);
  const { rows, cols } = shape;
  const out = new Float32Array(z.length);
  const e = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let m = -Infinity;
    for (let j = 0; j < cols; j++) m = Math.max(m, z[o + j]);
    let s = 0;
    for (let j = 0; j < cols; j++) s += e[j] = Math.exp(z[o + j] - m);
    for (let j = 0; j < cols; j++) out[o + j] = e[j] / s;
  }
  return out;
}

/** Row-wise stable log-softmax: z_j − max z − log Σ_k exp(z_k − max z) (float64 internally). */
export function logSoftmax(z: Float32Array, shape: RowsShape): Float32Array {
  checkShape(z, shape);
  const { rows, cols } = shape;
  const out = new Float32Array(z.length);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let m = -Infinity;
    for (let j = 0; j < cols; j++) m = Math.max(m, z[o + j]);
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(z[o + j] - m);
    const lse = m + Math.log(s);
    for (let j = 0; j < cols; j++) out[o + j] = z[o + j] - lse;
  }
  return out;
}

/** Floor applied before the log so that p = 0 maps to log(1e-30) ≈ −69.08, not −∞. */
export const PROBABILITY_FLOOR = 1e-30;

/**
 * Logits the service uses for `kind: "probabilities"` models: log(max(p, 1e-30)), elementwise
 * (so any row shape works).
 */
export function logitsFromProbabilities(p: Float32Array): Float32Array {
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = Math.log(Math.max(p[i], PROBABILITY_FLOOR));
  return out;
}

/** Index of the largest value per row; ties go to the lowest index (numpy/torch argmax). */
export function argmax(z: Float32Array, shape: RowsShape): Int32Array {
  checkShape(z, shape);
  const { rows, cols } = shape;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let best = 0;
    for (let j = 1; j < cols; j++) if (z[o + j] > z[o + best]) best = j;
    out[r] = best;
  }
  return out;
}

/** Result of {@link topK}: `rows × k` indices and their values, each row in descending order. */
export interface TopK {
  indices: Int32Array;
  values: Float32Array;
}

/**
 * The k largest values per row, descending; equal values are ordered by lower index first
 * (a stable sort of the row by value). k is clamped to `cols`.
 */
export function topK(z: Float32Array, shape: RowsShape & { k: number }): TopK {
  checkShape(z, shape);
  const { rows, cols } = shape;
  const k = Math.max(0, Math.min(shape.k, cols));
  const indices = new Int32Array(rows * k);
  const values = new Float32Array(rows * k);
  // Insertion into a sorted prefix of length ≤ k: O(cols·k), fine for class counts.
  const idx = new Int32Array(k);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let len = 0;
    for (let j = 0; j < cols; j++) {
      const v = z[o + j];
      if (len === k && !(v > z[o + idx[k - 1]])) continue;
      let pos = len < k ? len++ : k - 1;
      while (pos > 0 && v > z[o + idx[pos - 1]]) {
        idx[pos] = idx[pos - 1];
        pos--;
      }
      idx[pos] = j;
    }
    for (let i = 0; i < k; i++) {
      indices[r * k + i] = idx[i];
      values[r * k + i] = z[o + idx[i]];
    }
  }
  return { indices, values };
}
