/**
 * ReduceSum / ReduceMean: ∂x = expand(∂y with the reduced axes restored) [÷ count for mean].
 * axes is an input from opset 13 (ReduceSum) / 18 (ReduceMean), an attribute before; empty or
 * absent axes reduce everything unless noop_with_empty_axes=1 (then y = x).
 */
import { attrInt, attrInts } from "../graph.ts";
import { constInts, knownShape, normAxis, numericDims } from "./shape.ts";
import type { Dim, OpRule, RuleContext } from "./types.ts";

function reduced(ctx: RuleContext): { x: Dim[]; axes: number[]; keep: boolean } {
  const x = knownShape(ctx.info(0), "Reduce input");
  const since = ctx.node.op_type === "ReduceSum" ? 13 : 18;
  const given = ctx.opset >= since
    ? (ctx.has(1) ? constInts(ctx.info(1), "axes") : undefined)
    : attrInts(ctx.node, "axes");
  const noop = ctx.opset >= since && attrInt(ctx.node, "noop_with_empty_axes", 0) === 1;
  const axes = given && given.length > 0 ? given.map((a) => normAxis(a, x.length)) : noop ? [] : x.map((_, i) => i);
  return { x, axes, keep: attrInt(ctx.node, "keepdims", 1) === 1 };
}

export const reduceRule: OpRule = {
  infer(ctx) {
    const { x, axes, keep } = reduced(ctx);
    const shape = keep ? x.map((d, i) => (axes.includes(i) ? 1 : d)) : x.filter((_, i) => !axes.includes(i));
    return [{ shape, elemType: ctx.info(0).elemType }];
  },
  backward(ctx, [g]) {
    const b = ctx.b;
    const { x, axes, keep } = reduced(ctx);
    let up = keep || axes.length === 0 ? g! : b.unsqueeze(g!, [...axes].sort((p, q) => p - q));
    if (ctx.node.op_type === "ReduceMean" && axes.length > 0) {
      const count = numericDims(axes.map((a) => x[a]), "ReduceMean axes").reduce((p, q) => p * q, 1);
      up = b.op("Div", [up, b.constF32([count], [])]);
    }
    return [b.op("Expand", [up, ctx.shapeOf(ctx.input(0))]), ...ctx.node.input.slice(1).map(() => undefined)];
  },
};
