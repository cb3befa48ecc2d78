/** Static shape arithmetic shared by rules (numbers known, symbols such as "N" opaque). */
import { RuleError } from "../errors.ts";
import type { Dim, TensorInfo } from "./types.ts";

/**
 * Constants up to this many elements are kept as values (`TensorInfo.value`): computed by static
 * evaluation and folded into initializers. Large enough for Swin's shifted-window attention masks
 * and relative-position tables at realistic window counts.
 */
export const MAX_CONSTANT_ELEMENTS = 1 << 18;

/** Shape of an input, or a RuleError when unknown. */
export function knownShape(info: TensorInfo, what = "input"): Dim[] {
  if (!info.shape) throw new RuleError(`unknown shape of ${what}`);
  return info.shape;
}

/** Numeric dims (throws when any dim is symbolic). */
export function numericDims(dims: readonly Dim[], what: string): number[] {
  return dims.map((d) => {
    if (typeof d !== "number") throw new RuleError(`${what} needs a static size, got ${d}`);
    return d;
  });
}

/** Numeric constant value of an input (axes, pads, ...), or a RuleError. */
export function constInts(info: TensorInfo, what: string): number[] {
  if (!info.value) throw new RuleError(`${what} must be constant`);
  return numericDims(info.value, what);
}

/** Numpy-style multidirectional broadcast of two shapes. */
export function broadcast(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const r = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    const da = i - (r - a.length) >= 0 ? a[i - (r - a.length)] : 1;
    const db = i - (r - b.length) >= 0 ? b[i - (r - b.length)] : 1;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Normalize a possibly negative axis. */
export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Product of dims; a symbol if any dim is symbolic. */
export function product(dims: readonly Dim[]): Dim {
  let n = 1;
  const syms: string[] = [];
  for (const d of dims) typeof d === "number" ? (n *= d) : syms.push(d);
  return syms.length === 0 ? n : n === 1 && syms.length === 1 ? syms[0] : `${[n, ...syms].join("*")}`;
}

/** Row-major gather of a small constant: out[idx] = value[sourceIndex(idx)] over `outShape`. */
export function remapValue<T>(
  value: readonly T[],
  inShape: readonly number[],
  outShape: readonly number[],
  sourceIndex: (outIdx: number[]) => number[],
): T[] {
  const inStrides = inShape.map((_, i) => inShape.slice(i + 1).reduce((a, b) => a * b, 1));
  const total = outShape.reduce((a, b) => a * b, 1);
  const out: T[] = [];
  const idx = new Array(outShape.length).fill(0);
  for (let n = 0; n < total; n++) {
    const src = sourceIndex(idx);
    out.push(value[src.reduce((acc, v, i) => acc + v * inStrides[i], 0)]);
    for (let d = outShape.length - 1; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/**
 * A Reshape target from dims: numbers stay, 0 keeps the input's dim at the same index (only
 * meaningful for leading dims), and the one symbolic dim allowed becomes −1.
 */
export function reshapeTarget(dims: readonly Dim[], keepLeading = 0): number[] {
  if (dims.slice(keepLeading).filter((d) => typeof d !== "number").length > 1) {
    throw new RuleError("reshape with more than one symbolic dim");
  }
  return dims.map((d, i) => (i < keepLeading ? 0 : typeof d === "number" ? d : -1));
}
