/**
 * Layout evaluators: Reshape (0 copies, −1 infers, `allowzero`), Flatten, Squeeze/Unsqueeze (axes
 * attribute before opset 13, input from 13), Transpose, Expand, Tile, Concat, Split (sizes
 * attribute before 13, input from 13, `num_outputs` from 18) and Slice (attributes before opset
 * 10, inputs with any step from 10, ONNX clamping).
 */
import { attrInt, attrInts } from "../graph.ts";
import { RuleError } from "../errors.ts";
import { broadcastDims, type Const, mapBroadcast, normAxis, outputSize, remap, size } from "./array.ts";
import { type EvalContext, type Evaluator, need } from "./types.ts";

const ints = (c: Const | undefined): number[] | undefined => c?.data;

function reshapeTo(x: Const, dims: number[]): Const {
  return { dims, elemType: x.elemType, data: x.data };
}

const reshape: Evaluator = (ctx) => {
  const x = need(ctx, 0);
  const allowZero = attrInt(ctx.node, "allowzero", 0) === 1;
  const dims = need(ctx, 1).data.map((t, i) => (t === 0 && !allowZero ? x.dims[i] : t));
  const minus = dims.indexOf(-1);
  if (minus >= 0) dims[minus] = size(x.dims) / size(dims.filter((_, i) => i !== minus));
  if (size(dims) !== size(x.dims)) throw new RuleError("Reshape size mismatch");
  return [reshapeTo(x, dims)];
};

function axesInput(ctx: EvalContext, since: number): number[] | undefined {
  return ctx.opset >= since ? ints(ctx.inputs[1]) : attrInts(ctx.node, "axes");
}

function sliceParams(ctx: EvalContext, x: Const) {
  const r = x.dims.length;
  let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
  if (ctx.opset >= 10) {
    starts = need(ctx, 1).data;
    ends = need(ctx, 2).data;
    axes = ints(ctx.inputs[3]);
    steps = ints(ctx.inputs[4]);
  } else {
    starts = attrInts(ctx.node, "starts") ?? [];
    ends = attrInts(ctx.node, "ends") ?? [];
    axes = attrInts(ctx.node, "axes");
  }
  return { r, starts, ends, axes: (axes ?? starts.map((_, i) => i)).map((a) => normAxis(a, r)), steps };
}

/** ONNX Slice bounds for one axis of size d: first index, step, count. */
export function sliceAxis(start: number, end: number, step: number, d: number): { first: number; count: number } {
  if (step === 0) throw new RuleError("Slice step 0");
  const fix = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v < 0 ? v + d : v));
  const [s, e] = step > 0 ? [fix(start, 0, d), fix(end, 0, d)] : [fix(start, 0, d - 1), fix(end, -1, d - 1)];
  return { first: s, count: Math.max(0, Math.ceil((e - s) / step)) };
}

const slice: Evaluator = (ctx) => {
  const x = need(ctx, 0);
  const p = sliceParams(ctx, x);
  const first = x.dims.map(() => 0), step = x.dims.map(() => 1), dims = [...x.dims];
  p.axes.forEach((a, i) => {
    const st = p.steps?.[i] ?? 1;
    const s = sliceAxis(p.starts[i], p.ends[i], st, x.dims[a]);
    first[a] = s.first;
    step[a] = st;
    dims[a] = s.count;
  });
  return [remap(x, dims, (idx) => idx.map((v, d) => first[d] + v * step[d]))];
};

const split: Evaluator = (ctx) => {
  const x = need(ctx, 0);
  const axis = normAxis(attrInt(ctx.node, "axis", 0), x.dims.length);
  const d = x.dims[axis], parts = ctx.node.output.length;
  const sizes = (ctx.opset >= 13 ? ints(ctx.inputs[1]) : attrInts(ctx.node, "split")) ??
    Array.from({ length: parts }, (_, i) => {
      const chunk = Math.ceil(d / parts);
      return Math.max(0, Math.min(chunk, d - i * chunk));
    });
  let offset = 0;
  return sizes.map((n) => {
    const start = offset;
    offset += n;
    const dims = x.dims.map((v, i) => (i === axis ? n : v));
    return remap(x, dims, (idx) => idx.map((v, i) => (i === axis ? v + start : v)));
  });
};

export const LAYOUT_EVALUATORS: Readonly<Record<string, Evaluator>> = {
  Reshape: reshape,
  Flatten: (ctx) => {
    const x = need(ctx, 0);
    const axis = normAxis(attrInt(ctx.node, "axis", 1), x.dims.length);
    return [reshapeTo(x, [size(x.dims.slice(0, axis)), size(x.dims.slice(axis))])];
  },
  Squeeze: (ctx) => {
    const x = need(ctx, 0);
    const axes = axesInput(ctx, 13)?.map((a) => normAxis(a, x.dims.length)) ??
      x.dims.flatMap((d, i) => (d === 1 ? [i] : []));
    return [reshapeTo(x, x.dims.filter((_, i) => !axes.includes(i)))];
  },
  Unsqueeze: (ctx) => {
    const x = need(ctx, 0);
    const axes = axesInput(ctx, 13);
    if (!axes) throw new RuleError("Unsqueeze without axes");
    const rank = x.dims.length + axes.length;
    const norm = axes.map((a) => normAxis(a, rank));
    const dims: number[] = [];
    let j = 0;
    for (let i = 0; i < rank; i++) dims.push(norm.includes(i) ? 1 : x.dims[j++]);
    return [reshapeTo(x, dims)];
  },
  Transpose: (ctx) => {
    const x = need(ctx, 0);
    const r = x.dims.length;
    const perm = attrInts(ctx.node, "perm") ?? Array.from({ length: r }, (_, i) => r - 1 - i);
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [remap(x, perm.map((p) => x.dims[p]), (idx) => inverse.map((k) => idx[k]))];
  },
  Expand: (ctx) => {
    const x = need(ctx, 0);
    const dims = broadcastDims([x.dims, need(ctx, 1).data]);
    const shaped: Const = { dims, elemType: x.elemType, data: new Array(outputSize(dims)).fill(0) };
    return [mapBroadcast([x, shaped], x.elemType, ([v]) => v)];
  },
  Tile: (ctx) => {
    const x = need(ctx, 0);
    const reps = need(ctx, 1).data;
    return [remap(x, x.dims.map((d, i) => d * reps[i]), (idx) => idx.map((v, i) => v % x.dims[i]))];
  },
  Concat: (ctx) => {
    const xs = ctx.inputs.filter((x): x is Const => x !== undefined);
    const axis = normAxis(attrInt(ctx.node, "axis", 0), xs[0].dims.length);
    const dims = [...xs[0].dims];
    dims[axis] = xs.reduce((a, x) => a + x.dims[axis], 0);
    // Row-major: the outer block (axes before `axis`) interleaves the inputs' inner blocks.
    const outer = size(dims.slice(0, axis));
    const data: number[] = [];
    for (let o = 0; o < outer; o++) {
      for (const p of xs) {
        const inner = size(p.dims.slice(axis));
        for (let k = 0; k < inner; k++) data.push(p.data[o * inner + k]);
      }
    }
    return [{ dims, elemType: xs[0].elemType, data }];
  },
  Split: split,
  Slice: slice,
};
