/**
 * Per-row norms, ε-ball projections, steps and random starts for gradient attacks on pixels in
 * [0,1], following Madry et al. (2018) and Foolbox 3. Arrays are `rows × rowSize` row-major; every
 * array holds the same number of rows. Arithmetic in float64, stored as float32.
 */
import { gaussianFrom } from "./rng.ts";

/** Row layout shared by the per-row kernels. */
export interface RowOptions {
  /** Values per row (C·H·W for an image batch). */
  rowSize: number;
}

/** Guard on norms used as divisors (Foolbox: max(norm, 1e-12)). */
export const NORM_FLOOR = 1e-12;

function rowsOf(x: Float32Array, rowSize: number): number {
  if (!(Number.isInteger(rowSize) && rowSize >= 1) || x.length % rowSize !== 0) {
    throw new RangeError(`length ${x.length} is not a multiple of rowSize ${rowSize}`);
  }
  return x.length / rowSize;
}

function destination(out: Float32Array | undefined, length: number): Float32Array {
  if (out && out.length !== length) throw new RangeError(`out must hold ${length} values`);
  return out ?? new Float32Array(length);
}

function sameLength(a: Float32Array, b: Float32Array): void {
  if (a.length !== b.length) throw new RangeError(`length mismatch: ${a.length} vs ${b.length}`);
}

const clip01 = (v: number): number => v < 0 ? 0 : v > 1 ? 1 : v;

/** max_i |x_i| per row. */
export function linfNorm(x: Float32Array, { rowSize }: RowOptions): Float64Array {
  const rows = rowsOf(x, rowSize);
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let i = r * rowSize; i < (r + 1) * rowSize; i++) m = Math.max(m, Math.abs(x[i]));
    out[r] = m;
  }
  return out;
}

/** √(Σ_i x_i²) per row. */
export function l2Norm(x: Float32Array, { rowSize }: RowOptions): Float64Array {
  const rows = rowsOf(x, rowSize);
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = r * rowSize; i < (r + 1) * rowSize; i++) s += x[i] * x[i];
    out[r] = Math.sqrt(s);
  }
  return out;
}

/** Options of the projections: ball radius in [0,1] pixel units and an optional output buffer. */
export interface ProjectOptions {
  eps: number;
  out?: Float32Array;
}

/** L∞ projection, elementwise: clip(x0 + clip(x − x0, −ε, ε), 0, 1). `out` may alias `x`. */
export function projectLinf(x: Float32Array, x0: Float32Array, { eps, out }: ProjectOptions): Float32Array {
  sameLength(x, x0);
  const dst = destination(out, x.length);
  for (let i = 0; i < x.length; i++) {
    // min/max, not comparisons: the clamp's side is data-dependent and mispredicted branches cost ~2× here.
    dst[i] = clip01(x0[i] + Math.min(Math.max(x[i] - x0[i], -eps), eps));
  }
  return dst;
}

/**
 * L2 projection per row (Foolbox `clip_perturbation`, then clip to bounds): δ = x − x0,
 * x' = clip(x0 + δ·min(1, ε / max(‖δ‖₂, 1e-12)), 0, 1). Clipping only shrinks ‖δ‖₂, so the
 * result stays in the ball. `out` may alias `x`.
 */
export function projectL2(
  x: Float32Array,
  x0: Float32Array,
  { eps, rowSize, out }: ProjectOptions & RowOptions,
): Float32Array {
  sameLength(x, x0);
  const rows = rowsOf(x, rowSize);
  const dst = destination(out, x.length);
  for (let r = 0; r < rows; r++) {
    const lo = r * rowSize, hi = lo + rowSize;
    let s = 0;
    for (let i = lo; i < hi; i++) s += (x[i] - x0[i]) ** 2;
    const factor = Math.min(1, eps / Math.max(Math.sqrt(s), NORM_FLOOR));
    for (let i = lo; i < hi; i++) dst[i] = clip01(x0[i] + (x[i] - x0[i]) * factor);
  }
  return dst;
}

/** Options of the steps: step size in [0,1] pixel units and an optional output buffer. */
export interface StepOptions {
  alpha: number;
  out?: Float32Array;
}

/** FGSM / L∞ PGD step α·sign(g), elementwise, with sign(0) = 0. */
export function signStep(g: Float32Array, { alpha, out }: StepOptions): Float32Array {
  const dst = destination(out, g.length);
  // Branch-free: a gradient's signs are noise to a branch predictor. `+ 0` turns the −0 of α < 0 at g = 0 into 0.
  for (let i = 0; i < g.length; i++) dst[i] = alpha * (+(g[i] > 0) - +(g[i] < 0)) + 0;
  return dst;
}

/**
 * One L∞ step from `x0`, projected: projectLinf(x0 + signStep(g, α), x0, ε) in one pass, bit-identical to
 * those three passes through float32 buffers (the step and the sum are rounded to float32 as they would be),
 * without their intermediate arrays (FGSM's row at 224²).
 */
export function signStepProjected(
  x0: Float32Array,
  g: Float32Array,
  { alpha, eps, out }: StepOptions & { eps: number },
): Float32Array {
  sameLength(g, x0);
  const dst = destination(out, x0.length);
  const step = Math.fround(alpha);
  for (let i = 0; i < x0.length; i++) {
    // As signStep and projectLinf, branch-free; the step's −0 at g = 0 cannot reach the result (d = moved − x0).
    const moved = Math.fround(x0[i] + step * (+(g[i] > 0) - +(g[i] < 0)));
    dst[i] = clip01(x0[i] + Math.min(Math.max(moved - x0[i], -eps), eps));
  }
  return dst;
}

/**
 * L2 PGD step per row: α·g / max(‖g‖₂, 1e-12) (Foolbox `normalize_gradient_l2`). A zero gradient
 * gives a zero step; a row with 0 < ‖g‖₂ < 1e-12 gets a step shorter than α.
 */
export function l2Step(g: Float32Array, { alpha, rowSize, out }: StepOptions & RowOptions): Float32Array {
  const rows = rowsOf(g, rowSize);
  const dst = destination(out, g.length);
  for (let r = 0; r < rows; r++) {
    const lo = r * rowSize, hi = lo + rowSize;
    let s = 0;
    for (let i = lo; i < hi; i++) s += g[i] * g[i];
    const factor = alpha / Math.max(Math.sqrt(s), NORM_FLOOR);
    for (let i = lo; i < hi; i++) dst[i] = g[i] * factor;
  }
  return dst;
}

/** Options of the random starts: ball radius and a uniform [0,1) source (e.g. `createRng(s).next`). */
export interface RandomStartOptions {
  eps: number;
  rng: () => number;
}

/**
 * Uniform start in the L∞ ball (Madry; Foolbox LinfPGD): x_i = clip(x0_i + ε·(2u_i − 1), 0, 1),
 * one draw per element in array order.
 */
export function randomStartLinf(x0: Float32Array, { eps, rng }: RandomStartOptions): Float32Array {
  const out = new Float32Array(x0.length);
  for (let i = 0; i < x0.length; i++) out[i] = clip01(x0[i] + eps * (2 * rng() - 1));
  return out;
}

/**
 * Uniform start in the L2 ball per row, then clipped to [0,1]: direction z/‖z‖₂ with z a vector
 * of d = rowSize standard normals, radius ε·u^(1/d) (uniform volume). Draw order per row: the d
 * normals (Box–Muller over `rng`, see `gaussianFrom`; a spare sine value carries over to the next
 * row), then u. Foolbox draws the same distribution by Voelker's method (first d coordinates of
 * a point on the (d+1)-sphere), so streams differ but distributions agree.
 */
export function randomStartL2(
  x0: Float32Array,
  { eps, rng, rowSize }: RandomStartOptions & RowOptions,
): Float32Array {
  return alongGaussian(x0, rowSize, rng, () => eps * rng() ** (1 / rowSize));
}

/**
 * AutoAttack's L∞ start (APGD): t uniform in [−1, 1)^d per row (t_i = 2u_i − 1, array order),
 * x = clip(x0 + ε·t / max_i |t_i|, 0, 1) — a random point on the boundary of the ε-cube before
 * clipping. AutoAttack divides by max|t| + 1e-12; exact division keeps the largest |δ_i| at ε.
 */
export function boundaryStartLinf(
  x0: Float32Array,
  { eps, rng, rowSize }: RandomStartOptions & RowOptions,
): Float32Array {
  const rows = rowsOf(x0, rowSize);
  const t = new Float64Array(rowSize);
  const out = new Float32Array(x0.length);
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let i = 0; i < rowSize; i++) {
      t[i] = 2 * rng() - 1;
      m = Math.max(m, Math.abs(t[i]));
    }
    const factor = m > 0 ? eps / m : 0;
    for (let i = 0; i < rowSize; i++) out[r * rowSize + i] = clip01(x0[r * rowSize + i] + t[i] * factor);
  }
  return out;
}

/**
 * AutoAttack's L2 start (APGD): x = clip(x0 + ε·z / ‖z‖₂, 0, 1) with z d standard normals per row
 * (Box–Muller over `rng` as `randomStartL2`) — a uniform point on the ε-sphere before clipping.
 */
export function boundaryStartL2(
  x0: Float32Array,
  { eps, rng, rowSize }: RandomStartOptions & RowOptions,
): Float32Array {
  return alongGaussian(x0, rowSize, rng, () => eps);
}

/**
 * Per row: d standard normals z (Box–Muller over `rng`), then `radius()` (which may draw too),
 * x = clip(x0 + radius·z/‖z‖₂, 0, 1); a zero z leaves the row at x0.
 */
function alongGaussian(x0: Float32Array, rowSize: number, rng: () => number, radius: () => number): Float32Array {
  const rows = rowsOf(x0, rowSize);
  const normal = gaussianFrom(rng);
  const z = new Float64Array(rowSize);
  const out = new Float32Array(x0.length);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = 0; i < rowSize; i++) {
      z[i] = normal();
      s += z[i] * z[i];
    }
    const length = radius();
    const factor = s > 0 ? length / Math.sqrt(s) : 0;
    for (let i = 0; i < rowSize; i++) out[r * rowSize + i] = clip01(x0[r * rowSize + i] + z[i] * factor);
  }
  return out;
}

/** ⟨a, b⟩ / (‖a‖₂‖b‖₂) in float64; 0 when either vector is zero. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
