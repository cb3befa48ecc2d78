/**
 * BatchNormalization in inference mode: y = (x − mean)/sqrt(var + ε)·scale + B, so
 * ∂x = ∂y · scale/sqrt(var + ε), the factor broadcast over channel axis 1.
 * LayerNormalization (opset 17) over axes [axis, rank): with x̂ = (x − μ)·r, r = 1/sqrt(σ² + ε)
 * (biased variance) and u = ∂y·scale, ∂x = r·(u − mean(u) − x̂·mean(u·x̂)), means over those axes.
 * InstanceNormalization is the same over the spatial axes with a per-channel scale;
 * GroupNormalization over [N, G, C/G·spatial] (scale per group at opset 18, per channel from 21).
 */
import { attrFloat, attrInt, type GraphBuilder } from "../graph.ts";
import { RuleError } from "../errors.ts";
import { DataType } from "../proto.ts";
import { knownShape, normAxis } from "./shape.ts";
import type { OpRule } from "./types.ts";

export const batchNormRule: OpRule = {
  infer(ctx) {
    const x = ctx.info(0);
    const c = x.shape?.[1] ?? "?";
    return [
      { shape: x.shape, elemType: x.elemType },
      ...ctx.node.output.slice(1).map(() => ({ shape: [c], elemType: x.elemType })),
    ];
  },
  backward(ctx, [g]) {
    if (ctx.opset >= 14 && attrInt(ctx.node, "training_mode", 0) === 1) {
      throw new RuleError("BatchNormalization in training mode");
    }
    if ([1, 2, 3, 4].some((i) => ctx.active(i))) {
      throw new RuleError("BatchNormalization parameters depend on the pixels");
    }
    const b = ctx.b;
    const rank = knownShape(ctx.info(0)).length;
    const eps = attrFloat(ctx.node, "epsilon", 1e-5);
    const factor = b.op("Div", [ctx.input(1), b.op("Sqrt", [b.op("Add", [ctx.input(4), b.constF32([eps], [])])])]);
    const shaped = b.reshape(factor, [-1, ...new Array(rank - 2).fill(1)]);
    return [b.op("Mul", [g!, shaped]), undefined, undefined, undefined, undefined];
  },
};

export const layerNormRule: OpRule = {
  infer(ctx) {
    const x = ctx.info(0);
    const rank = knownShape(x, "LayerNormalization input").length;
    const axis = normAxis(attrInt(ctx.node, "axis", -1), rank);
    const stats = x.shape!.map((d, i) => (i < axis ? d : 1));
    return [
      { shape: x.shape, elemType: x.elemType },
      ...ctx.node.output.slice(1).map(() => ({ shape: stats, elemType: DataType.FLOAT })),
    ];
  },
  backward(ctx, [g]) {
    if (ctx.active(1) || ctx.active(2)) throw new RuleError("LayerNormalization parameters depend on the pixels");
    const rank = knownShape(ctx.info(0)).length;
    const axis = normAxis(attrInt(ctx.node, "axis", -1), rank);
    const axes = Array.from({ length: rank - axis }, (_, i) => axis + i);
    const eps = attrFloat(ctx.node, "epsilon", 1e-5);
    return [
      normalizedBackward(ctx.b, ctx.input(0), ctx.b.op("Mul", [g!, ctx.input(1)]), axes, eps),
      undefined,
      undefined,
    ];
  },
};

/**
 * ∂x of x̂ = (x − μ)·r, r = 1/sqrt(σ² + ε) (biased variance over `axes`), given u = ∂y·scale:
 * r·(u − mean(u) − x̂·mean(u·x̂)).
 */
function normalizedBackward(b: GraphBuilder, x: string, u: string, axes: number[], eps: number): string {
  const centered = b.op("Sub", [x, b.reduceMean(x, axes, true)]);
  const variance = b.reduceMean(b.op("Mul", [centered, centered]), axes, true);
  const r = b.op("Div", [b.constF32([1], []), b.op("Sqrt", [b.op("Add", [variance, b.constF32([eps], [])])])]);
  const xhat = b.op("Mul", [centered, r]);
  const m1 = b.reduceMean(u, axes, true);
  const m2 = b.reduceMean(b.op("Mul", [u, xhat]), axes, true);
  return b.op("Mul", [r, b.op("Sub", [b.op("Sub", [u, m1]), b.op("Mul", [xhat, m2])])]);
}

const same: OpRule["infer"] = (ctx) => [{ shape: ctx.info(0).shape, elemType: ctx.info(0).elemType }];

/** scale [C] broadcast over [N, C, spatial...]. */
function perChannel(b: GraphBuilder, v: string, rank: number): string {
  return b.reshape(v, [-1, ...new Array(rank - 2).fill(1)]);
}

export const instanceNormRule: OpRule = {
  infer: same,
  backward(ctx, [g]) {
    if (ctx.active(1) || ctx.active(2)) throw new RuleError("InstanceNormalization parameters depend on the pixels");
    const b = ctx.b;
    const rank = knownShape(ctx.info(0)).length;
    const axes = Array.from({ length: rank - 2 }, (_, i) => i + 2);
    const u = b.op("Mul", [g!, perChannel(b, ctx.input(1), rank)]);
    return [normalizedBackward(b, ctx.input(0), u, axes, attrFloat(ctx.node, "epsilon", 1e-5)), undefined, undefined];
  },
};

/** GroupNormalization (opset 18: scale/bias per group; from 21: per channel). */
export const groupNormRule: OpRule = {
  infer: same,
  backward(ctx, [g]) {
    if (ctx.active(1) || ctx.active(2)) throw new RuleError("GroupNormalization parameters depend on the pixels");
    const b = ctx.b;
    const x = knownShape(ctx.info(0));
    const groups = attrInt(ctx.node, "num_groups", 1);
    const grouped = (t: string) => b.reshape(t, [0, groups, -1]);
    const u = ctx.opset >= 21
      ? grouped(b.op("Mul", [g!, perChannel(b, ctx.input(1), x.length)]))
      : b.op("Mul", [grouped(g!), b.reshape(ctx.input(1), [groups, 1])]);
    const dx = normalizedBackward(b, grouped(ctx.input(0)), u, [2], attrFloat(ctx.node, "epsilon", 1e-5));
    return [b.op("Reshape", [dx, ctx.shapeOf(ctx.input(0))]), undefined, undefined];
  },
};
