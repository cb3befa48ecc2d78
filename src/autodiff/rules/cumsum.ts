/**
 * CumSum (opset 11+): ∂x is the cumulative sum of ∂y in the opposite direction, with the same
 * `exclusive` flag (∂x_j = Σ_{i ≥ j} ∂y_i, or i > j when exclusive). The axis input is passed on.
 */
import { attrInt } from "../graph.ts";
import { RuleError } from "../errors.ts";
import type { OpRule } from "./types.ts";

export const cumSumRule: OpRule = {
  infer: (ctx) => [{ shape: ctx.info(0).shape, elemType: ctx.info(0).elemType }],
  backward(ctx, [g]) {
    if (ctx.active(1)) throw new RuleError("CumSum axis depends on the pixels");
    const reverse = attrInt(ctx.node, "reverse", 0) === 1 ? 0 : 1;
    const exclusive = attrInt(ctx.node, "exclusive", 0);
    return [
      ctx.b.op("CumSum", [g!, ctx.input(1)], { exclusive: { i: exclusive }, reverse: { i: reverse } }),
      undefined,
    ];
  },
};
