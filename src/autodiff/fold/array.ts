/** Small dense constants for static evaluation: row-major values as numbers, with ONNX element type. */
import { DataType } from "../proto.ts";
import { MAX_CONSTANT_ELEMENTS } from "../rules/shape.ts";

export interface Const {
  dims: number[];
  elemType: number;
  data: number[];
}

/** Element types the evaluator computes with (and `makeTensor` can write back). */
export const EVALUABLE_TYPES: ReadonlySet<number> = new Set<number>([
  DataType.FLOAT,
  DataType.DOUBLE,
  DataType.INT64,
  DataType.INT32,
  DataType.INT8,
  DataType.UINT8,
  DataType.BOOL,
]);

export function isFloatType(t: number): boolean {
  return t === DataType.FLOAT || t === DataType.DOUBLE;
}

export function size(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Element count of a result about to be built; refuses (the node stays) above the constant limit. */
export function outputSize(dims: readonly number[]): number {
  const n = size(dims);
  if (!(n <= MAX_CONSTANT_ELEMENTS)) throw new RangeError(`constant of ${n} elements is not evaluated`);
  return n;
}

export function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let k = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = k;
    k *= dims[i];
  }
  return s;
}

/** Round a computed value to what a tensor of `elemType` stores (float32 rounding, integer wrap-free truncation). */
export function coerce(v: number, elemType: number): number {
  if (elemType === DataType.FLOAT) return Math.fround(v);
  if (elemType === DataType.DOUBLE) return v;
  if (elemType === DataType.BOOL) return v ? 1 : 0;
  return Math.trunc(v);
}

/** Visit every index of `dims` in row-major order. */
export function forEachIndex(dims: readonly number[], f: (idx: number[], flat: number) => void): void {
  const total = size(dims);
  const idx = new Array<number>(dims.length).fill(0);
  for (let n = 0; n < total; n++) {
    f(idx, n);
    for (let d = dims.length - 1; d >= 0; d--) {
      if (++idx[d] < dims[d]) break;
      idx[d] = 0;
    }
  }
}

/** Output[idx] = input[source(idx)] over `outDims` (layout ops: transpose, slice, gather, ...). */
export function remap(x: Const, outDims: number[], source: (outIdx: number[]) => number[]): Const {
  const st = strides(x.dims);
  const data = new Array<number>(outputSize(outDims));
  forEachIndex(outDims, (idx, n) => {
    const src = source(idx);
    let off = 0;
    for (let i = 0; i < src.length; i++) off += src[i] * st[i];
    data[n] = x.data[off];
  });
  return { dims: outDims, elemType: x.elemType, data };
}

/** Numpy multidirectional broadcast of numeric shapes; throws on incompatible dims. */
export function broadcastDims(shapes: readonly (readonly number[])[]): number[] {
  const r = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(r).fill(1);
  for (const s of shapes) {
    s.forEach((d, i) => {
      const j = i + r - s.length;
      if (d !== 1) {
        if (out[j] !== 1 && out[j] !== d) throw new Error(`cannot broadcast [${shapes.join("] [")}]`);
        out[j] = d;
      }
    });
  }
  return out;
}

/** Elementwise map over broadcast inputs. */
export function mapBroadcast(xs: readonly Const[], elemType: number, f: (vals: number[]) => number): Const {
  const dims = broadcastDims(xs.map((x) => x.dims));
  const r = dims.length;
  const sts = xs.map((x) => {
    const s = strides(x.dims);
    return dims.map((_, j) => {
      const i = j - (r - x.dims.length);
      return i < 0 || x.dims[i] === 1 ? 0 : s[i];
    });
  });
  const data = new Array<number>(outputSize(dims));
  const vals = new Array<number>(xs.length);
  forEachIndex(dims, (idx, n) => {
    for (let k = 0; k < xs.length; k++) {
      let off = 0;
      for (let j = 0; j < r; j++) off += idx[j] * sts[k][j];
      vals[k] = xs[k].data[off];
    }
    data[n] = coerce(f(vals), elemType);
  });
  return { dims, elemType, data };
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}
