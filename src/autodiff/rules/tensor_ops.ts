/**
 * Concat, Split, Slice, Pad, Tile. Concat's ∂ slices ∂y per input; Split's ∂ concatenates the
 * output gradients (zeros for unused outputs). Slice's ∂ zero-pads ∂y back, for any step: a
 * negative step reverses ∂y with a Gather, a step > 1 interleaves zeros by Pad + Reshape.
 * Constant-mode Pad's ∂ slices the padding off; edge/reflect/wrap modes and negative (cropping)
 * pads go through the one-hot axis matrix of axis_matrix.ts. Pads computed by shape arithmetic
 * arrive here folded (fold/). Signatures by opset: Slice takes inputs from 10, Pad from 11 (axes
 * from 18), Split sizes from 13.
 */
import { attrInt, attrInts, attrString } from "../graph.ts";
import { backAlongAxis, oneHot } from "./axis_matrix.ts";
import { RuleError } from "../errors.ts";
import { constInts, knownShape, normAxis, numericDims, remapValue, reshapeTarget } from "./shape.ts";
import type { Dim, OpRule, RuleContext } from "./types.ts";

export const concatRule: OpRule = {
  infer(ctx) {
    const shapes = ctx.node.input.map((_, i) => knownShape(ctx.info(i), "Concat input"));
    const axis = normAxis(attrInt(ctx.node, "axis", 0), shapes[0].length);
    const size = shapes.reduce<Dim>(
      (acc, s) =>
        typeof acc === "number" && typeof s[axis] === "number"
          ? acc + (s[axis] as number)
          : `?concat:${ctx.node.output[0]}`,
      0,
    );
    const shape = shapes[0].map((d, i) => (i === axis ? size : d));
    const values = ctx.node.input.map((_, i) => ctx.info(i).value);
    const value = shapes[0].length === 1 && values.every((v) => v) ? values.flatMap((v) => v!) : undefined;
    return [{ shape, elemType: ctx.info(0).elemType, value }];
  },
  backward(ctx, [g]) {
    const shapes = ctx.node.input.map((_, i) => knownShape(ctx.info(i)));
    const axis = normAxis(attrInt(ctx.node, "axis", 0), shapes[0].length);
    let offset = 0;
    return shapes.map((s, i) => {
      const n = numericDims([s[axis]], "Concat axis")[0];
      const start = offset;
      offset += n;
      return ctx.active(i) ? ctx.b.slice(g!, [start], [start + n], [axis]) : undefined;
    });
  },
};

function splitSizes(ctx: RuleContext, total: number): number[] {
  const given = ctx.opset >= 13
    ? (ctx.has(1) ? constInts(ctx.info(1), "split") : undefined)
    : attrInts(ctx.node, "split");
  if (given) return given;
  const parts = ctx.node.output.length;
  const chunk = Math.ceil(total / parts);
  return Array.from({ length: parts }, (_, i) => Math.max(0, Math.min(chunk, total - i * chunk)));
}

export const splitRule: OpRule = {
  infer(ctx) {
    const x = knownShape(ctx.info(0), "Split input");
    const axis = normAxis(attrInt(ctx.node, "axis", 0), x.length);
    const sizes = splitSizes(ctx, numericDims([x[axis]], "Split axis")[0]);
    return sizes.map((n) => ({ shape: x.map((d, i) => (i === axis ? n : d)), elemType: ctx.info(0).elemType }));
  },
  backward(ctx, gs) {
    const b = ctx.b;
    const x = knownShape(ctx.info(0));
    const axis = normAxis(attrInt(ctx.node, "axis", 0), x.length);
    const parts = gs.map((g, i) => g ?? b.op("ConstantOfShape", [ctx.shapeOf(ctx.node.output[i])]));
    return [b.op("Concat", parts, { axis: { i: axis } }), ...ctx.node.input.slice(1).map(() => undefined)];
  },
};

interface Resolved {
  axes: number[];
  starts: number[];
  ends: number[];
  steps: number[];
}

/** ONNX Slice clamping: negative indices count from the end; clamp to [0,d] (step>0). */
function resolveSlice(ctx: RuleContext, shape: readonly Dim[]): Resolved {
  const r = shape.length;
  let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
  if (ctx.opset >= 10) {
    starts = constInts(ctx.info(1), "Slice starts");
    ends = constInts(ctx.info(2), "Slice ends");
    axes = ctx.has(3) ? constInts(ctx.info(3), "Slice axes") : undefined;
    steps = ctx.has(4) ? constInts(ctx.info(4), "Slice steps") : undefined;
  } else {
    starts = attrInts(ctx.node, "starts") ?? [];
    ends = attrInts(ctx.node, "ends") ?? [];
    axes = attrInts(ctx.node, "axes");
  }
  axes = (axes ?? starts.map((_, i) => i)).map((a) => normAxis(a, r));
  steps = steps ?? starts.map(() => 1);
  const res: Resolved = { axes, starts: [], ends: [], steps };
  axes.forEach((a, i) => {
    const d = numericDims([shape[a]], "Slice axis")[0];
    const step = steps![i];
    const fix = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v < 0 ? v + d : v));
    if (step > 0) {
      res.starts.push(fix(starts[i], 0, d));
      res.ends.push(fix(ends[i], 0, d));
    } else {
      res.starts.push(fix(starts[i], 0, d - 1));
      res.ends.push(fix(ends[i], -1, d - 1));
    }
  });
  return res;
}

export const sliceRule: OpRule = {
  infer(ctx) {
    const x = knownShape(ctx.info(0), "Slice input");
    const s = resolveSlice(ctx, x);
    const shape = [...x];
    s.axes.forEach((a, i) => {
      shape[a] = Math.max(0, Math.ceil((s.ends[i] - s.starts[i]) / s.steps[i]));
    });
    const xv = ctx.info(0).value;
    const value = xv && x.every((d) => typeof d === "number")
      ? remapValue(xv, x as number[], shape as number[], (idx) =>
        idx.map((v, d) => {
          const k = s.axes.indexOf(d);
          return k < 0 ? v : s.starts[k] + v * s.steps[k];
        }))
      : undefined;
    return [{ shape, elemType: ctx.info(0).elemType, value }];
  },
  backward(ctx, [g]) {
    const x = knownShape(ctx.info(0));
    const s = resolveSlice(ctx, x);
    const b = ctx.b, r = x.length;
    const dims: Dim[] = [...sliceRule.infer(ctx)[0].shape!];
    let cur = g!;
    s.axes.forEach((a, i) => {
      const d = numericDims([x[a]], "Slice axis")[0];
      const count = numericDims([dims[a]], "Slice output")[0];
      let step = s.steps[i], first = s.starts[i];
      if (count === 0) throw new RuleError("Slice selecting nothing");
      if (step < 0) {
        // Reverse ∂y along the axis: the picked positions, ascending, start at the last one.
        cur = b.op("Gather", [cur, b.constI64(Array.from({ length: count }, (_, k) => count - 1 - k))], {
          axis: { i: a },
        });
        first += (count - 1) * step;
        step = -step;
      }
      let span = count;
      if (step > 1) {
        // Interleave step − 1 zeros after each element: [.., count, 1, ..] → pad → [.., count·step, ..].
        const spread = b.pad(b.unsqueeze(cur, [a + 1]), padsAt(r + 1, a + 1, 0, step - 1), 0);
        cur = b.reshape(spread, reshapeTarget(dims.map((v, j) => (j === a ? count * step : v)), a));
        span = (count - 1) * step + 1;
        cur = b.slice(cur, [0], [span], [a]);
      }
      cur = b.pad(cur, padsAt(r, a, first, d - first - span), 0);
      dims[a] = d;
    });
    return [cur, ...ctx.node.input.slice(1).map(() => undefined)];
  },
};

/** Pads for one axis of a rank-r tensor. */
function padsAt(r: number, axis: number, begin: number, end: number): number[] {
  const pads = new Array(2 * r).fill(0);
  pads[axis] = begin;
  pads[axis + r] = end;
  return pads;
}

function padsOf(ctx: RuleContext, rank: number): number[] {
  if (ctx.opset < 11) return attrInts(ctx.node, "pads") ?? new Array(2 * rank).fill(0);
  const given = constInts(ctx.info(1), "Pad pads");
  if (!ctx.has(3)) return given;
  const axes = constInts(ctx.info(3), "Pad axes").map((a) => normAxis(a, rank));
  const pads = new Array(2 * rank).fill(0);
  axes.forEach((a, i) => {
    pads[a] = given[i];
    pads[a + rank] = given[i + axes.length];
  });
  return pads;
}

export const padRule: OpRule = {
  infer(ctx) {
    const x = knownShape(ctx.info(0), "Pad input");
    const pads = padsOf(ctx, x.length);
    const shape = x.map((
      d,
      i,
    ) => (typeof d === "number"
      ? d + pads[i] + pads[i + x.length]
      : (pads[i] + pads[i + x.length] === 0 ? d : `?pad:${ctx.node.output[0]}:${i}`))
    );
    return [{ shape, elemType: ctx.info(0).elemType }];
  },
  backward(ctx, [g]) {
    const mode = attrString(ctx.node, "mode", "constant");
    const x = knownShape(ctx.info(0));
    const r = x.length;
    const pads = padsOf(ctx, r);
    const rest = ctx.node.input.slice(1).map(() => undefined);
    const axes = x.flatMap((_, i) => (pads[i] !== 0 || pads[i + r] !== 0 ? [i] : []));
    if (axes.length === 0) return [g, ...rest];
    if (mode === "constant" && pads.every((p) => p >= 0)) {
      const starts = axes.map((a) => pads[a]);
      const ends = axes.map((a) => pads[a] + numericDims([x[a]], "Pad axis")[0]);
      return [ctx.b.slice(g!, starts, ends, axes), ...rest];
    }
    // Other modes (and cropping pads): each padded position reads one input position.
    const source = PAD_SOURCE[mode];
    if (!source) throw new RuleError(`Pad mode ${mode}`);
    let cur = g!;
    for (const a of axes) {
      const d = numericDims([x[a]], "Pad axis")[0];
      const n = d + pads[a] + pads[a + r];
      const picks = Array.from({ length: n }, (_, j) => source(j - pads[a], d));
      cur = backAlongAxis(ctx.b, cur, a, r, oneHot(picks, d), n, d);
    }
    return [cur, ...rest];
  },
};

/** Pad mode → input position read at (possibly out-of-range) position i of an axis of size d; −1: the pad value. */
const PAD_SOURCE: Record<string, (i: number, d: number) => number> = {
  constant: (i, d) => (i >= 0 && i < d ? i : -1),
  edge: (i, d) => Math.min(d - 1, Math.max(0, i)),
  reflect: (i, d) => {
    if (d === 1) return 0;
    const period = 2 * (d - 1);
    const k = ((i % period) + period) % period;
    return k < d ? k : period - k;
  },
  wrap: (i, d) => ((i % d) + d) % d,
};

/** Tile: ∂x sums ∂y over the copies: reshape [r₀·d₀, …] → [r₀, d₀, …], ReduceSum over the r axes. */
export const tileRule: OpRule = {
  infer(ctx) {
    const x = knownShape(ctx.info(0), "Tile input");
    const reps = constInts(ctx.info(1), "Tile repeats");
    const shape = x.map((
      d,
      i,
    ) => (reps[i] === 1 ? d : typeof d === "number" ? d * reps[i] : `?tile:${ctx.node.output[0]}:${i}`));
    return [{ shape, elemType: ctx.info(0).elemType }];
  },
  backward(ctx, [g]) {
    const x = knownShape(ctx.info(0));
    const reps = constInts(ctx.info(1), "Tile repeats");
    const b = ctx.b;
    const split = b.reshape(g!, reshapeTarget(x.flatMap((d, i) => [reps[i], d])));
    const summed = b.reduceSum(split, x.map((_, i) => 2 * i), false);
    return [b.reshape(summed, reshapeTarget(x)), undefined];
  },
};
