/**
 * DepthToSpace (DCR and CRD modes) and SpaceToDepth: pure permutations of elements, each
 * written as Reshape → Transpose → Reshape; the gradient is the inverse permutation, built the
 * same way (batch dim kept symbolic through Reshape's 0).
 */
import { attrInt, attrString, type GraphBuilder } from "../graph.ts";
import { RuleError } from "../errors.ts";
import { knownShape, numericDims } from "./shape.ts";
import type { Dim, OpRule, RuleContext } from "./types.ts";

function dims(ctx: RuleContext): { n: Dim; c: number; h: number; w: number; bs: number } {
  const x = knownShape(ctx.info(0), `${ctx.node.op_type} input`);
  if (x.length !== 4) throw new RuleError(`${ctx.node.op_type} on a rank-${x.length} tensor`);
  const [c, h, w] = numericDims(x.slice(1), `${ctx.node.op_type} input`);
  return { n: x[0], c, h, w, bs: attrInt(ctx.node, "blocksize", 1) };
}

function rearrange(b: GraphBuilder, g: string, split: number[], perm: number[], out: number[]): string {
  const t = b.op("Transpose", [b.reshape(g, [0, ...split])], { perm: { ints: [0, ...perm] } });
  return b.reshape(t, [0, ...out]);
}

export const depthToSpaceRule: OpRule = {
  infer(ctx) {
    const { n, c, h, w, bs } = dims(ctx);
    return [{ shape: [n, c / (bs * bs), h * bs, w * bs], elemType: ctx.info(0).elemType }];
  },
  backward(ctx, [g]) {
    const { c, h, w, bs } = dims(ctx);
    const co = c / (bs * bs);
    // ∂y [N, C', H·b, W·b] → [N, C', H, b, W, b], then into the forward's pre-transpose order.
    const perm = attrString(ctx.node, "mode", "DCR") === "CRD" ? [1, 3, 5, 2, 4] : [3, 5, 1, 2, 4];
    return [rearrange(ctx.b, g!, [co, h, bs, w, bs], perm, [c, h, w])];
  },
};

export const spaceToDepthRule: OpRule = {
  infer(ctx) {
    const { n, c, h, w, bs } = dims(ctx);
    return [{ shape: [n, c * bs * bs, h / bs, w / bs], elemType: ctx.info(0).elemType }];
  },
  backward(ctx, [g]) {
    const { c, h, w, bs } = dims(ctx);
    // ∂y [N, b·b·C, H/b, W/b] → [N, b, b, C, H/b, W/b] → [N, C, H/b, b, W/b, b].
    return [rearrange(ctx.b, g!, [bs, bs, c, h / bs, w / bs], [3, 4, 1, 5, 2], [c, h, w])];
  },
};
