/**
 * Data-dependent selection. ArgMax/ArgMin output indices only: their branches carry no gradient.
 * TopK's values get ∂y scattered back onto the selected positions (the indices are distinct
 * along the axis, so a plain ScatterElements is exact; Scatter before opset 11). GatherElements
 * scatter-adds ∂y onto its indices (ScatterElements reduction=add from opset 16; below that
 * only constant indices without repeats, by a plain scatter).
 */
import { attrInt } from "../graph.ts";
import { RuleError } from "../errors.ts";
import { DataType } from "../proto.ts";
import { knownShape, normAxis, numericDims } from "./shape.ts";
import type { Dim, OpRule, RuleContext } from "./types.ts";

export const argExtremumRule: OpRule = {
  infer(ctx) {
    const x = knownShape(ctx.info(0), `${ctx.node.op_type} input`);
    const axis = normAxis(attrInt(ctx.node, "axis", 0), x.length);
    const keep = attrInt(ctx.node, "keepdims", 1) === 1;
    const shape = keep ? x.map((d, i) => (i === axis ? 1 : d)) : x.filter((_, i) => i !== axis);
    return [{ shape, elemType: DataType.INT64 }];
  },
};

/** Scatter `updates` at `indices` along `axis` into zeros shaped like input `like`. */
function scatterIntoZeros(ctx: RuleContext, indices: string, updates: string, axis: number, add: boolean): string {
  const b = ctx.b;
  const zeros = b.op("ConstantOfShape", [ctx.shapeOf(ctx.input(0))]);
  const op = ctx.opset >= 11 ? "ScatterElements" : "Scatter";
  return b.op(op, [zeros, indices, updates], { axis: { i: axis }, ...(add ? { reduction: { s: "add" } } : {}) });
}

function topK(ctx: RuleContext): { x: Dim[]; axis: number; k: Dim } {
  const x = knownShape(ctx.info(0), "TopK input");
  const axis = normAxis(attrInt(ctx.node, "axis", -1), x.length);
  const kv = ctx.opset >= 10 ? ctx.info(1).value?.[0] : attrInt(ctx.node, "k", 1);
  return { x, axis, k: kv ?? `?topk:${ctx.node.output[0]}` };
}

export const topKRule: OpRule = {
  infer(ctx) {
    const { x, axis, k } = topK(ctx);
    const shape = x.map((d, i) => (i === axis ? k : d));
    return [{ shape, elemType: ctx.info(0).elemType }, { shape, elemType: DataType.INT64 }];
  },
  backward(ctx, [g]) {
    if (!g) return [undefined, undefined];
    const { axis } = topK(ctx);
    return [scatterIntoZeros(ctx, ctx.node.output[1], g, axis, false), undefined];
  },
};

export const gatherElementsRule: OpRule = {
  infer: (ctx) => [{ shape: ctx.info(1).shape, elemType: ctx.info(0).elemType }],
  backward(ctx, [g]) {
    const x = knownShape(ctx.info(0));
    const axis = normAxis(attrInt(ctx.node, "axis", 0), x.length);
    if (ctx.opset >= 16) return [scatterIntoZeros(ctx, ctx.input(1), g!, axis, true), undefined];
    const idx = ctx.info(1).value;
    if (!idx) throw new RuleError("GatherElements with computed indices below opset 16 (no scatter-add)");
    const shape = numericDims(knownShape(ctx.info(1)), "GatherElements indices");
    const d = numericDims([x[axis]], "GatherElements axis")[0];
    // Distinct targets: the index along the axis plus every other coordinate.
    const stride = shape.slice(axis + 1).reduce((a, v) => a * v, 1);
    const seen = new Set<string>();
    numericDims(idx, "GatherElements indices").forEach((v, n) => {
      const outer = Math.floor(n / (stride * shape[axis])), inner = n % stride;
      const key = `${outer}:${inner}:${v < 0 ? v + d : v}`;
      if (seen.has(key)) throw new RuleError("GatherElements with repeated indices below opset 16");
      seen.add(key);
    });
    return [scatterIntoZeros(ctx, ctx.input(1), g!, axis, false), undefined];
  },
};
