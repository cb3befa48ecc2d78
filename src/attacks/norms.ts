/**
 * Norm strategies of the engine (Foolbox 3 style), thin per-row adapters over kernels/norms.ts:
 * - `step`: α·sign(g) with sign(0) = 0 (L∞), or α·g / max(‖g‖₂, 1e-12) per row (L2), rounded to
 *   float32 (α is used as float64 inside the kernel, the product is stored as float32);
 * - `project`: into the ε-ball around the clean row, then clipped to [0,1] (L∞: clamp x − x0 to
 *   [−ε, ε]; L2: scale x − x0 by min(1, ε / max(‖x − x0‖₂, 1e-12))), float64 inside, float32 out;
 * - `randomStart`: L∞ uniform x0 + ε·(2u − 1) per element; L2 uniform in the ball (Gaussian
 *   direction, radius ε·u^(1/d)); both clipped to [0,1], drawn in row order from `rng`;
 * - `boundaryStart` (AutoAttack's APGD start): a random point on the ε-sphere of the norm (L∞:
 *   ε·t/max|t| with t uniform in [−1,1)^d; L2: ε·z/‖z‖₂ with z normal), clipped to [0,1].
 */
import type { Rng } from "../../kernels/rng.ts";
import {
  boundaryStartL2,
  boundaryStartLinf,
  l2Step,
  projectL2,
  projectLinf,
  randomStartL2,
  randomStartLinf,
  signStep,
} from "../../kernels/norms.ts";
import type { NormName } from "./result.ts";

export interface NormStrategy {
  readonly name: NormName;
  /** α_r·direction(g_r) per row r; `alpha` holds one step size per row. */
  step(g: Float32Array, alpha: Float64Array): Float32Array;
  /** Proj onto each row's ε_r-ball around `origin`, then clip to [0,1]. */
  project(x: Float32Array, origin: Float32Array, eps: Float64Array): Float32Array;
  /** Random iterate 0 for each of `rows` rows (one radius for all of them). */
  randomStart(origin: Float32Array, rows: number, eps: number, rng: Rng): Float32Array;
  /** Random point on each row's ε-sphere (AutoAttack's start), clipped to [0,1]. */
  boundaryStart(origin: Float32Array, rows: number, eps: number, rng: Rng): Float32Array;
}

type RowKernel = (
  src: Float32Array,
  src2: Float32Array,
  value: number,
  rowSize: number,
  out: Float32Array,
) => void;

/** Applies a scalar-parameter kernel row by row, so each row can have its own α or ε. */
function perRow(
  kernel: RowKernel,
  a: Float32Array,
  b: Float32Array,
  values: Float64Array,
): Float32Array {
  const rowSize = a.length / values.length;
  const out = new Float32Array(a.length);
  values.forEach((v, r) => {
    const lo = r * rowSize;
    kernel(
      a.subarray(lo, lo + rowSize),
      b.subarray(lo, lo + rowSize),
      v,
      rowSize,
      out.subarray(lo, lo + rowSize),
    );
  });
  return out;
}

export const linf: NormStrategy = {
  name: "linf",
  step: (g, alpha) => perRow((s, _, alpha, _n, out) => signStep(s, { alpha, out }), g, g, alpha),
  project: (x, origin, eps) => perRow((s, o, eps, _n, out) => projectLinf(s, o, { eps, out }), x, origin, eps),
  randomStart: (origin, _rows, eps, rng) => randomStartLinf(origin, { eps, rng: rng.next }),
  boundaryStart: (origin, rows, eps, rng) =>
    boundaryStartLinf(origin, { eps, rng: rng.next, rowSize: origin.length / rows }),
};

export const l2: NormStrategy = {
  name: "l2",
  step: (g, alpha) => perRow((s, _, alpha, rowSize, out) => l2Step(s, { alpha, rowSize, out }), g, g, alpha),
  project: (x, origin, eps) =>
    perRow((s, o, eps, rowSize, out) => projectL2(s, o, { eps, rowSize, out }), x, origin, eps),
  randomStart: (origin, rows, eps, rng) => randomStartL2(origin, { eps, rng: rng.next, rowSize: origin.length / rows }),
  boundaryStart: (origin, rows, eps, rng) =>
    boundaryStartL2(origin, { eps, rng: rng.next, rowSize: origin.length / rows }),
};

export function normStrategy(name: NormName): NormStrategy {
  return name === "linf" ? linf : l2;
}
