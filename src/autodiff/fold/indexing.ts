/**
 * Indexing and generator evaluators: Gather, GatherElements, ScatterND and ScatterElements
 * (reduction none/add/mul/max/min), NonZero, Range, ConstantOfShape, CumSum, and the Reduce*
 * family (axes attribute before opset 13 for ReduceSum / 18 for the others, input after;
 * `noop_with_empty_axes`).
 */
import { attrInt, attrInts, attrString, attrTensor } from "../graph.ts";
import { RuleError } from "../errors.ts";
import { DataType } from "../proto.ts";
import { readTensor } from "../tensor.ts";
import { coerce, forEachIndex, normAxis, outputSize, size, strides } from "./array.ts";
import { type Evaluator, need } from "./types.ts";

const wrap = (i: number, d: number) => (i < 0 ? i + d : i);

const gather: Evaluator = (ctx) => {
  const x = need(ctx, 0), ind = need(ctx, 1);
  const r = x.dims.length, axis = normAxis(attrInt(ctx.node, "axis", 0), r);
  const dims = [...x.dims.slice(0, axis), ...ind.dims, ...x.dims.slice(axis + 1)];
  const st = strides(x.dims), q = ind.dims.length;
  const data = new Array<number>(outputSize(dims));
  forEachIndex(dims, (idx, n) => {
    let off = 0;
    for (let d = 0; d < axis; d++) off += idx[d] * st[d];
    let k = 0;
    const ist = strides(ind.dims);
    for (let d = 0; d < q; d++) k += idx[axis + d] * ist[d];
    off += wrap(ind.data[k], x.dims[axis]) * st[axis];
    for (let d = axis + 1; d < r; d++) off += idx[d + q - 1] * st[d];
    data[n] = x.data[off];
  });
  return [{ dims, elemType: x.elemType, data }];
};

const gatherElements: Evaluator = (ctx) => {
  const x = need(ctx, 0), ind = need(ctx, 1);
  const axis = normAxis(attrInt(ctx.node, "axis", 0), x.dims.length);
  const st = strides(x.dims);
  const data = new Array<number>(size(ind.dims));
  forEachIndex(ind.dims, (idx, n) => {
    let off = 0;
    idx.forEach((v, d) => (off += (d === axis ? wrap(ind.data[n], x.dims[axis]) : v) * st[d]));
    data[n] = x.data[off];
  });
  return [{ dims: ind.dims, elemType: x.elemType, data }];
};

function combine(reduction: string): (old: number, v: number) => number {
  switch (reduction) {
    case "none":
      return (_, v) => v;
    case "add":
      return (a, v) => a + v;
    case "mul":
      return (a, v) => a * v;
    case "max":
      return Math.max;
    case "min":
      return Math.min;
    default:
      throw new RuleError(`scatter reduction ${reduction}`);
  }
}

const scatterND: Evaluator = (ctx) => {
  const x = need(ctx, 0), ind = need(ctx, 1), upd = need(ctx, 2);
  const f = combine(attrString(ctx.node, "reduction", "none"));
  const k = ind.dims[ind.dims.length - 1], st = strides(x.dims);
  const slice = size(x.dims.slice(k)), rows = size(ind.dims.slice(0, -1));
  const data = [...x.data];
  for (let row = 0; row < rows; row++) {
    let off = 0;
    for (let j = 0; j < k; j++) off += wrap(ind.data[row * k + j], x.dims[j]) * st[j];
    for (let e = 0; e < slice; e++) data[off + e] = coerce(f(data[off + e], upd.data[row * slice + e]), x.elemType);
  }
  return [{ dims: x.dims, elemType: x.elemType, data }];
};

const scatterElements: Evaluator = (ctx) => {
  const x = need(ctx, 0), ind = need(ctx, 1), upd = need(ctx, 2);
  const f = combine(attrString(ctx.node, "reduction", "none"));
  const axis = normAxis(attrInt(ctx.node, "axis", 0), x.dims.length), st = strides(x.dims);
  const data = [...x.data];
  forEachIndex(ind.dims, (idx, n) => {
    let off = 0;
    idx.forEach((v, d) => (off += (d === axis ? wrap(ind.data[n], x.dims[axis]) : v) * st[d]));
    data[off] = coerce(f(data[off], upd.data[n]), x.elemType);
  });
  return [{ dims: x.dims, elemType: x.elemType, data }];
};

const nonZero: Evaluator = (ctx) => {
  const x = need(ctx, 0);
  const hits: number[][] = [];
  forEachIndex(x.dims, (idx, n) => {
    if (x.data[n] !== 0) hits.push([...idx]);
  });
  const r = x.dims.length;
  const data = Array.from({ length: r }, (_, d) => hits.map((h) => h[d])).flat();
  return [{ dims: [r, hits.length], elemType: DataType.INT64, data }];
};

const range: Evaluator = (ctx) => {
  const [start, limit, delta] = [0, 1, 2].map((i) => need(ctx, i).data[0]);
  const n = outputSize([Math.max(0, Math.ceil((limit - start) / delta))]);
  const t = need(ctx, 0).elemType;
  return [{ dims: [n], elemType: t, data: Array.from({ length: n }, (_, i) => coerce(start + i * delta, t)) }];
};

const constantOfShape: Evaluator = (ctx) => {
  const dims = need(ctx, 0).data;
  const t = attrTensor(ctx.node, "value");
  const fill = t ? readTensor(t).data[0] : 0;
  return [{ dims, elemType: t?.data_type ?? DataType.FLOAT, data: new Array(outputSize(dims)).fill(fill) }];
};

const cumSum: Evaluator = (ctx) => {
  const x = need(ctx, 0);
  const axis = normAxis(need(ctx, 1).data[0], x.dims.length);
  const exclusive = attrInt(ctx.node, "exclusive", 0) === 1, reverse = attrInt(ctx.node, "reverse", 0) === 1;
  const st = strides(x.dims), d = x.dims[axis];
  const data = new Array<number>(x.data.length);
  forEachIndex(x.dims.map((v, i) => (i === axis ? 1 : v)), (idx) => {
    let base = 0;
    idx.forEach((v, i) => (base += v * st[i]));
    let acc = 0;
    for (let k = 0; k < d; k++) {
      const j = reverse ? d - 1 - k : k, off = base + j * st[axis];
      if (exclusive) {
        data[off] = coerce(acc, x.elemType);
        acc += x.data[off];
      } else {
        acc += x.data[off];
        data[off] = coerce(acc, x.elemType);
      }
    }
  });
  return [{ dims: x.dims, elemType: x.elemType, data }];
};

function reduce(init: number, f: (acc: number, v: number) => number, finish = (acc: number, _n: number) => acc) {
  const evaluator: Evaluator = (ctx) => {
    const x = need(ctx, 0), r = x.dims.length;
    const since = ctx.node.op_type === "ReduceSum" ? 13 : 18;
    const given = ctx.opset >= since ? ctx.inputs[1]?.data : attrInts(ctx.node, "axes");
    const noop = ctx.opset >= since && attrInt(ctx.node, "noop_with_empty_axes", 0) === 1;
    if ((!given || given.length === 0) && noop) return [x];
    const axes = given && given.length > 0 ? given.map((a) => normAxis(a, r)) : x.dims.map((_, i) => i);
    const kept = x.dims.map((d, i) => (axes.includes(i) ? 1 : d));
    const acc = new Array<number>(size(kept)).fill(init);
    const kst = strides(kept);
    forEachIndex(x.dims, (idx, n) => {
      let off = 0;
      idx.forEach((v, i) => (off += (axes.includes(i) ? 0 : v) * kst[i]));
      acc[off] = f(acc[off], x.data[n]);
    });
    const count = size(axes.map((a) => x.dims[a]));
    const data = acc.map((a) => coerce(finish(a, count), x.elemType));
    const keep = attrInt(ctx.node, "keepdims", 1) === 1;
    return [{ dims: keep ? kept : x.dims.filter((_, i) => !axes.includes(i)), elemType: x.elemType, data }];
  };
  return evaluator;
}

export const INDEXING_EVALUATORS: Readonly<Record<string, Evaluator>> = {
  Gather: gather,
  GatherElements: gatherElements,
  ScatterND: scatterND,
  ScatterElements: scatterElements,
  NonZero: nonZero,
  Range: range,
  ConstantOfShape: constantOfShape,
  CumSum: cumSum,
  ReduceSum: reduce(0, (a, v) => a + v),
  ReduceMean: reduce(0, (a, v) => a + v, (a, n) => a / n),
  ReduceProd: reduce(1, (a, v) => a * v),
  ReduceMax: reduce(-Infinity, Math.max),
  ReduceMin: reduce(Infinity, Math.min),
};
