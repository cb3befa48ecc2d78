/**
 * Layout ops and shape arithmetic. Reshape/Flatten/Squeeze/Unsqueeze pass ∂y back through a
 * Reshape to x's shape; Transpose through the inverse permutation; Identity, Dropout (inference)
 * and float Cast pass ∂y through. Gather with constant indices (any rank, e.g. a ViT class token
 * or a fixed pixel permutation) scatters ∂y back with a one-hot MatMul along the gathered axis
 * (axis_matrix.ts), so repeated indices add up. Shape, Constant and ConstantOfShape are not differentiated; `infer` evaluates small values
 * so shape subgraphs fold to constants.
 * Axes are attributes before opset 13 (Squeeze/Unsqueeze) and inputs from 13.
 */
import { attrInt, attrInts, attrTensor } from "../graph.ts";
import { RuleError } from "../errors.ts";
import { type AttributeProto, DataType, toNumber } from "../proto.ts";
import { isReadable, readTensor } from "../tensor.ts";
import { backAlongAxis, oneHot } from "./axis_matrix.ts";
import {
  constInts,
  knownShape,
  MAX_CONSTANT_ELEMENTS,
  normAxis,
  numericDims,
  product,
  remapValue,
  reshapeTarget,
} from "./shape.ts";
import type { Dim, OpRule, RuleContext, TensorInfo } from "./types.ts";

const reshapeBack: OpRule["backward"] = (ctx, [g]) => [
  ctx.b.op("Reshape", [g!, ctx.shapeOf(ctx.input(0))]),
  ...ctx.node.input.slice(1).map(() => undefined),
];

/** Symbolic dim quotient for Reshape's −1: cancels shared symbols, else a fresh symbol. */
function quotient(num: readonly Dim[], den: readonly Dim[], fresh: string): Dim {
  let n = 1, d = 1;
  const syms: string[] = [];
  for (const x of num) typeof x === "number" ? (n *= x) : syms.push(x);
  for (const x of den) {
    if (typeof x === "number") d *= x;
    else {
      const i = syms.indexOf(x);
      if (i < 0) return fresh;
      syms.splice(i, 1);
    }
  }
  if (syms.length === 0) return n / d;
  return n === d && syms.length === 1 ? syms[0] : fresh;
}

export const reshapeRule: OpRule = {
  infer(ctx) {
    const x = ctx.info(0);
    const target = ctx.info(1).value;
    if (!target) throw new RuleError("Reshape target shape is not constant");
    const allowZero = attrInt(ctx.node, "allowzero", 0) === 1;
    const inShape = knownShape(x, "Reshape input");
    const out = target.map((t, i) => (t === 0 && !allowZero ? inShape[i] : t));
    const minus = out.indexOf(-1);
    if (minus >= 0) {
      out[minus] = quotient(inShape, out.filter((_, i) => i !== minus), `?reshape:${ctx.node.output[0]}`);
    }
    return [{ shape: out, elemType: x.elemType, value: x.value }];
  },
  backward: reshapeBack,
};

export const flattenRule: OpRule = {
  infer(ctx) {
    const x = knownShape(ctx.info(0), "Flatten input");
    const axis = normAxis(attrInt(ctx.node, "axis", 1), x.length);
    return [{ shape: [product(x.slice(0, axis)), product(x.slice(axis))], elemType: ctx.info(0).elemType }];
  },
  backward: reshapeBack,
};

function axesOf(ctx: RuleContext): number[] | undefined {
  if (ctx.opset >= 13) return ctx.has(1) ? constInts(ctx.info(1), "axes") : undefined;
  return attrInts(ctx.node, "axes");
}

export const squeezeRule: OpRule = {
  infer(ctx) {
    const x = knownShape(ctx.info(0), "Squeeze input");
    const axes = axesOf(ctx)?.map((a) => normAxis(a, x.length)) ?? x.flatMap((d, i) => (d === 1 ? [i] : []));
    const shape = x.filter((_, i) => !axes.includes(i));
    return [{ shape, elemType: ctx.info(0).elemType, value: ctx.info(0).value }];
  },
  backward: reshapeBack,
};

export const unsqueezeRule: OpRule = {
  infer(ctx) {
    const x = knownShape(ctx.info(0), "Unsqueeze input");
    const axes = axesOf(ctx);
    if (!axes) throw new RuleError("Unsqueeze without axes");
    const rank = x.length + axes.length;
    const norm = axes.map((a) => normAxis(a, rank));
    const shape: Dim[] = [];
    let j = 0;
    for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : x[j++]);
    return [{ shape, elemType: ctx.info(0).elemType, value: ctx.info(0).value }];
  },
  backward: reshapeBack,
};

function permOf(ctx: RuleContext, rank: number): number[] {
  return attrInts(ctx.node, "perm") ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
}

export const transposeRule: OpRule = {
  infer(ctx) {
    const x = knownShape(ctx.info(0), "Transpose input");
    const perm = permOf(ctx, x.length);
    const shape = perm.map((p) => x[p]);
    const xv = ctx.info(0).value;
    const value = xv && x.every((d) => typeof d === "number")
      ? remapValue(xv, x as number[], shape as number[], (idx) => perm.map((_, d) => idx[perm.indexOf(d)]))
      : undefined;
    return [{ shape, elemType: ctx.info(0).elemType, value }];
  },
  backward(ctx, [g]) {
    const perm = permOf(ctx, knownShape(ctx.info(0)).length);
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [ctx.b.op("Transpose", [g!], { perm: { ints: inverse } })];
  },
};

/** Identity and Dropout (inference: y = x; the optional mask output is not differentiated). */
export const identityRule: OpRule = {
  infer(ctx) {
    const x = ctx.info(0);
    return [{ ...x }, ...ctx.node.output.slice(1).map(() => ({ shape: x.shape, elemType: DataType.BOOL }))];
  },
  backward: (ctx, [g]) => [g, ...ctx.node.input.slice(1).map(() => undefined)],
};

export const castRule: OpRule = {
  infer(ctx) {
    const to = attrInt(ctx.node, "to", DataType.FLOAT);
    const x = ctx.info(0);
    const integer = to !== DataType.FLOAT && to !== DataType.DOUBLE && to !== DataType.FLOAT16;
    const value = x.value?.map((v) => (typeof v === "number" && integer ? Math.trunc(v) : v));
    return [{ shape: x.shape, elemType: to, value }];
  },
  backward(ctx, [g]) {
    const from = ctx.info(0).elemType;
    return [from === attrInt(ctx.node, "to", DataType.FLOAT) ? g : ctx.b.op("Cast", [g!], { to: { i: from } })];
  },
};

export const shapeRule: OpRule = {
  infer(ctx) {
    const x = knownShape(ctx.info(0), "Shape input");
    const r = x.length;
    const clamp = (v: number) => Math.min(r, Math.max(0, v < 0 ? v + r : v));
    const start = clamp(attrInt(ctx.node, "start", 0)), end = clamp(attrInt(ctx.node, "end", r));
    const value = x.slice(start, end);
    return [{ shape: [value.length], elemType: DataType.INT64, value }];
  },
};

function constantValue(attrs: AttributeProto[]): TensorInfo {
  const a = attrs[0];
  if (!a) throw new RuleError("Constant without value");
  switch (a.name) {
    case "value": {
      const t = a.t!;
      const dims = t.dims.map(toNumber);
      const info: TensorInfo = { shape: dims, elemType: t.data_type ?? 0 };
      if (dims.reduce((x, y) => x * y, 1) <= MAX_CONSTANT_ELEMENTS && isReadable(t)) info.value = readTensor(t).data;
      return info;
    }
    case "value_float":
      return { shape: [], elemType: DataType.FLOAT, value: [a.f ?? 0] };
    case "value_floats":
      return { shape: [a.floats.length], elemType: DataType.FLOAT, value: Array.from(a.floats) };
    case "value_int":
      return { shape: [], elemType: DataType.INT64, value: [toNumber(a.i)] };
    case "value_ints":
      return { shape: [a.ints.length], elemType: DataType.INT64, value: a.ints.map(toNumber) };
    default:
      throw new RuleError(`Constant ${a.name} is not supported`);
  }
}

export const constantRule: OpRule = { infer: (ctx) => [constantValue(ctx.node.attribute)] };

export const constantOfShapeRule: OpRule = {
  infer(ctx) {
    const shapeValue = ctx.info(0).value;
    if (!shapeValue) throw new RuleError("ConstantOfShape shape is not constant");
    const t = attrTensor(ctx.node, "value");
    const fill = t ? readTensor(t).data[0] : 0;
    const elemType = t?.data_type ?? DataType.FLOAT;
    const dims = shapeValue;
    const size = product(dims);
    const value = typeof size === "number" && size <= MAX_CONSTANT_ELEMENTS
      ? new Array<number>(size).fill(fill)
      : undefined;
    return [{ shape: dims, elemType, value }];
  },
};

export const gatherRule: OpRule = {
  infer(ctx) {
    const data = knownShape(ctx.info(0), "Gather data");
    const idx = knownShape(ctx.info(1), "Gather indices");
    const axis = normAxis(attrInt(ctx.node, "axis", 0), data.length);
    const shape = [...data.slice(0, axis), ...idx, ...data.slice(axis + 1)];
    const dv = ctx.info(0).value, iv = ctx.info(1).value;
    let value: Dim[] | undefined;
    if (dv && iv && data.length === 1) {
      const n = numericDims(data, "Gather data")[0];
      value = numericDims(iv, "Gather indices").map((i) => dv[i < 0 ? i + n : i]);
    }
    return [{ shape, elemType: ctx.info(0).elemType, value }];
  },
  backward(ctx, [g]) {
    const b = ctx.b;
    const data = knownShape(ctx.info(0));
    const idxShape = knownShape(ctx.info(1));
    const idx = ctx.info(1).value;
    if (!idx) throw new RuleError("Gather with indices computed from the pixels");
    const r = data.length, axis = normAxis(attrInt(ctx.node, "axis", 0), r);
    const d = numericDims([data[axis]], "Gather axis")[0];
    const picks = numericDims(idx, "Gather indices").map((i) => (i < 0 ? i + d : i));
    // ∂y with the index dims merged into one axis of |picks| entries, then the one-hot matrix.
    const outShape = [...data.slice(0, axis), picks.length, ...data.slice(axis + 1)];
    const gk = idxShape.length === 0
      ? b.unsqueeze(g!, [axis])
      : idxShape.length === 1
      ? g!
      : b.reshape(g!, reshapeTarget(outShape, axis));
    return [backAlongAxis(b, gk, axis, r, oneHot(picks, d), picks.length, d), undefined];
  },
};
