/**
 * The gradient of any op that, along one axis, takes fixed linear combinations of its input —
 * y[…, j, …] = Σ_i M[j, i]·x[…, i, …] (Gather with constant indices, Pad in any mode, Resize
 * nearest/linear) — is ∂x = Mᵀ·∂y along that axis: a MatMul with the constant M, the axis moved
 * last and back. Repeated picks add up.
 */
import type { GraphBuilder } from "../graph.ts";

/** ∂x for y = M·x along `axis` of a rank-`rank` tensor; `m` is row-major [rows = |y axis|, cols = |x axis|]. */
export function backAlongAxis(
  b: GraphBuilder,
  g: string,
  axis: number,
  rank: number,
  m: Float32Array,
  rows: number,
  cols: number,
): string {
  const matrix = b.constF32(m, [rows, cols]);
  if (axis === rank - 1) return b.op("MatMul", [g, matrix]);
  const toLast = [...Array.from({ length: rank }, (_, i) => i).filter((i) => i !== axis), axis];
  const back = toLast.map((_, i) => toLast.indexOf(i));
  const moved = b.op("Transpose", [g], { perm: { ints: toLast } });
  return b.op("Transpose", [b.op("MatMul", [moved, matrix])], { perm: { ints: back } });
}

/** One-hot rows: M[j, picks[j]] = 1 (no 1 where picks[j] < 0: that output is not from x). */
export function oneHot(picks: readonly number[], cols: number): Float32Array {
  const m = new Float32Array(picks.length * cols);
  picks.forEach((p, j) => {
    if (p >= 0) m[j * cols + p] = 1;
  });
  return m;
}
