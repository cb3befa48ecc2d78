/**
 * Softmax: ∂x = y ⊙ (∂y − Σ(∂y ⊙ y)); LogSoftmax: ∂x = ∂y − exp(y) ⊙ Σ∂y. Before opset 13 the
 * input is coerced to 2-D at `axis` (default 1), so the sums run over all axes ≥ axis; from
 * opset 13 over `axis` alone (default −1).
 */
import { attrInt } from "../graph.ts";
import { knownShape, normAxis } from "./shape.ts";
import type { OpRule, RuleContext } from "./types.ts";

function sumAxes(ctx: RuleContext): number[] {
  const rank = knownShape(ctx.info(0), "Softmax input").length;
  const axis = normAxis(attrInt(ctx.node, "axis", ctx.opset >= 13 ? -1 : 1), rank);
  return ctx.opset >= 13 ? [axis] : Array.from({ length: rank - axis }, (_, i) => axis + i);
}

const same: OpRule["infer"] = (ctx) => [{ shape: ctx.info(0).shape, elemType: ctx.info(0).elemType }];

export const softmaxRule: OpRule = {
  infer: same,
  backward(ctx, [g]) {
    const b = ctx.b, y = ctx.node.output[0];
    const dot = b.reduceSum(b.op("Mul", [g!, y]), sumAxes(ctx), true);
    return [b.op("Mul", [y, b.op("Sub", [g!, dot])])];
  },
};

export const logSoftmaxRule: OpRule = {
  infer: same,
  backward(ctx, [g]) {
    const b = ctx.b, y = ctx.node.output[0];
    const total = b.reduceSum(g!, sumAxes(ctx), true);
    return [b.op("Sub", [g!, b.op("Mul", [b.op("Exp", [y]), total])])];
  },
};
