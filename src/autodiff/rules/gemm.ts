/**
 * Gemm (Y = α·A'·B' + β·C with A' = transA ? Aᵀ : A, B' likewise) and MatMul (numpy semantics,
 * both operands rank ≥ 2). ∂A' = α·∂Y·B'ᵀ, ∂B' = α·A'ᵀ·∂Y, ∂C = β·∂Y summed to C's shape;
 * for MatMul the batch dims are summed back to each operand's shape.
 */
import { attrFloat, attrInt, type GraphBuilder } from "../graph.ts";
import { RuleError } from "../errors.ts";
import { unbroadcast } from "./elementwise.ts";
import { broadcast, knownShape } from "./shape.ts";
import type { Dim, OpRule } from "./types.ts";

function scale(b: GraphBuilder, x: string, k: number): string {
  return k === 1 ? x : b.op("Mul", [x, b.constF32([k], [])]);
}

export const gemmRule: OpRule = {
  infer(ctx) {
    const a = knownShape(ctx.info(0), "Gemm A"), bb = knownShape(ctx.info(1), "Gemm B");
    const m = attrInt(ctx.node, "transA", 0) ? a[1] : a[0];
    const n = attrInt(ctx.node, "transB", 0) ? bb[0] : bb[1];
    return [{ shape: [m, n], elemType: ctx.info(0).elemType }];
  },
  backward(ctx, [g]) {
    const b = ctx.b;
    const ta = attrInt(ctx.node, "transA", 0) === 1, tb = attrInt(ctx.node, "transB", 0) === 1;
    const alpha = attrFloat(ctx.node, "alpha", 1), beta = attrFloat(ctx.node, "beta", 1);
    const t = (x: string) => b.op("Transpose", [x], { perm: { ints: [1, 0] } });
    const ga = scale(b, g!, alpha);
    const out: (string | undefined)[] = [undefined, undefined, undefined];
    if (ctx.active(0)) {
      // ∂A' = ∂Y·B'ᵀ, and B'ᵀ = B when transB.
      const dA = b.op("MatMul", [ga, tb ? ctx.input(1) : t(ctx.input(1))]);
      out[0] = ta ? t(dA) : dA;
    }
    if (ctx.active(1)) {
      const dB = b.op("MatMul", [ta ? ctx.input(0) : t(ctx.input(0)), ga]);
      out[1] = tb ? t(dB) : dB;
    }
    if (ctx.has(2) && ctx.active(2)) {
      const y = gemmRule.infer(ctx)[0].shape!;
      out[2] = unbroadcast(b, scale(b, g!, beta), y, knownShape(ctx.info(2)));
    }
    return out;
  },
};

function matmulShape(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  if (a.length < 2 || b.length < 2) throw new RuleError("MatMul with a 1-D operand");
  const batch = broadcast(a.slice(0, -2), b.slice(0, -2));
  return [...batch, a[a.length - 2], b[b.length - 1]];
}

export const matmulRule: OpRule = {
  infer(ctx) {
    const shape = matmulShape(knownShape(ctx.info(0), "MatMul A"), knownShape(ctx.info(1), "MatMul B"));
    return [{ shape, elemType: ctx.info(0).elemType }];
  },
  backward(ctx, [g]) {
    const b = ctx.b;
    const sa = knownShape(ctx.info(0)), sb = knownShape(ctx.info(1));
    const out = matmulShape(sa, sb);
    const swap = (x: string, rank: number) =>
      b.op("Transpose", [x], {
        perm: { ints: [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2] },
      });
    const dA = ctx.active(0)
      ? unbroadcast(
        b,
        b.op("MatMul", [g!, swap(ctx.input(1), sb.length)]),
        [...out.slice(0, -1), sa[sa.length - 1]],
        sa,
      )
      : undefined;
    const dB = ctx.active(1)
      ? unbroadcast(b, b.op("MatMul", [swap(ctx.input(0), sa.length), g!]), [
        ...out.slice(0, -2),
        sb[sb.length - 2],
        out[out.length - 1],
      ], sb)
      : undefined;
    return [dA, dB];
  },
};
