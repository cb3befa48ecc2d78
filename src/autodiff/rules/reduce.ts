/**
 * Reductions. With ĝ = ∂y with the reduced axes restored (keepdims) and broadcast to x:
 * ReduceSum ∂x = ĝ; ReduceMean ĝ/count; ReduceMax/ReduceMin ĝ·[x = y]/#ties (the gradient is
 * shared evenly between tied extrema, like torch's amax/amin); ReduceL2 ĝ·x/y; ReduceSumSquare
 * 2x·ĝ; ReduceL1 sign(x)·ĝ; ReduceLogSumExp exp(x − y)·ĝ. axes is an input from opset 13
 * (ReduceSum) / 18 (the others), an attribute before; empty or absent axes reduce everything
 * unless noop_with_empty_axes=1 (then y = x).
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
    const b = ctx.b, op = ctx.node.op_type;
    const { x, axes, keep } = reduced(ctx);
    const restore = (t: string) => (keep || axes.length === 0 ? t : b.unsqueeze(t, [...axes].sort((p, q) => p - q)));
    const up = b.op("Expand", [restore(g!), ctx.shapeOf(ctx.input(0))]);
    const input = ctx.input(0), y = () => restore(ctx.node.output[0]);
    const rest = ctx.node.input.slice(1).map(() => undefined);
    if (axes.length === 0 && op !== "ReduceSumSquare" && op !== "ReduceL1") return [g, ...rest];
    let dx: string;
    switch (op) {
      case "ReduceMean": {
        const count = numericDims(axes.map((a) => x[a]), "ReduceMean axes").reduce((p, q) => p * q, 1);
        dx = b.op("Div", [up, b.constF32([count], [])]);
        break;
      }
      case "ReduceMax":
      case "ReduceMin": {
        const mask = b.toFloat(b.equalF(input, y()));
        dx = b.op("Div", [b.op("Mul", [up, mask]), b.reduceSum(mask, axes, true)]);
        break;
      }
      case "ReduceL2":
        dx = b.op("Mul", [up, b.op("Div", [input, y()])]);
        break;
      case "ReduceSumSquare":
        dx = b.op("Mul", [up, b.op("Mul", [input, b.constF32([2], [])])]);
        break;
      case "ReduceL1":
        dx = b.op("Mul", [up, b.op("Sign", [input])]);
        break;
      case "ReduceLogSumExp":
        dx = b.op("Mul", [up, b.op("Exp", [b.op("Sub", [input, y()])])]);
        break;
      default:
        dx = up;
    }
    return [dx, ...rest];
  },
};
