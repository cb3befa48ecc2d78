/**
 * Expand, Where and Equal. Expand's ∂ sums ∂y back to x's shape; Where routes ∂y to X where the
 * condition holds and to Y elsewhere (each summed back to its operand's shape); Equal is not
 * differentiated. `infer` evaluates small constant values (torch's expand/reshape shape
 * subgraphs use Equal + Where on shape vectors).
 */
import { DataType } from "../proto.ts";
import { unbroadcast } from "./elementwise.ts";
import { broadcast, knownShape } from "./shape.ts";
import type { Dim, OpRule, RuleContext } from "./types.ts";

/** Elementwise over small 1-D (or scalar) values; undefined when any input lacks a value. */
function elementwise(ctx: RuleContext, n: number, f: (xs: Dim[]) => Dim | undefined): Dim[] | undefined {
  const values = Array.from({ length: n }, (_, i) => ctx.info(i).value);
  if (values.some((v) => !v)) return undefined;
  const len = Math.max(...values.map((v) => v!.length));
  if (values.some((v) => v!.length !== len && v!.length !== 1)) return undefined;
  const out: Dim[] = [];
  for (let i = 0; i < len; i++) {
    const r = f(values.map((v) => v![v!.length === 1 ? 0 : i]));
    if (r === undefined) return undefined;
    out.push(r);
  }
  return out;
}

export const expandRule: OpRule = {
  infer(ctx) {
    const x = knownShape(ctx.info(0), "Expand input");
    const target = ctx.info(1).value;
    const shape = target ? broadcast(x, target) : undefined;
    return [{ shape, elemType: ctx.info(0).elemType }];
  },
  backward(ctx, [g]) {
    const out = knownShape(expandRule.infer(ctx)[0], "Expand output");
    return [unbroadcast(ctx.b, g!, out, knownShape(ctx.info(0))), undefined];
  },
};

export const whereRule: OpRule = {
  infer(ctx) {
    const shapes = [0, 1, 2].map((i) => ctx.info(i).shape);
    const shape = shapes.every((s) => s) ? broadcast(broadcast(shapes[0]!, shapes[1]!), shapes[2]!) : undefined;
    const value = elementwise(ctx, 3, ([c, x, y]) => (typeof c === "number" ? (c ? x : y) : undefined));
    return [{ shape, elemType: ctx.info(1).elemType, value }];
  },
  backward(ctx, [g]) {
    const b = ctx.b;
    const out = knownShape(whereRule.infer(ctx)[0], "Where output");
    const zero = b.constF32([0], []);
    const pick = (i: 1 | 2) =>
      unbroadcast(
        b,
        b.op("Where", i === 1 ? [ctx.input(0), g!, zero] : [ctx.input(0), zero, g!]),
        out,
        knownShape(ctx.info(i)),
      );
    return [undefined, ctx.active(1) ? pick(1) : undefined, ctx.active(2) ? pick(2) : undefined];
  },
};

export const equalRule: OpRule = {
  infer(ctx) {
    const a = ctx.info(0).shape, b = ctx.info(1).shape;
    const value = elementwise(ctx, 2, ([x, y]) => {
      if (typeof x === "number" && typeof y === "number") return x === y ? 1 : 0;
      if (x === y) return 1;
      // A symbolic dim is a size (≥ 0), so it never equals a negative number such as −1.
      const n = typeof x === "number" ? x : y;
      return typeof n === "number" && n < 0 ? 0 : undefined;
    });
    return [{ shape: a && b ? broadcast(a, b) : undefined, elemType: DataType.BOOL, value }];
  },
};

/**
 * Comparisons and logic (Less, Greater, …, Not, And, Or, Xor): bool results carry no gradient,
 * so masks computed from activations (torch.where(x > 0, …)) are fine on the pixel path.
 * Constant operands are evaluated by fold/.
 */
export const predicateRule: OpRule = {
  infer(ctx) {
    const shapes = ctx.node.input.map((_, i) => ctx.info(i).shape);
    const shape = shapes.every((s) => s) ? shapes.reduce((a, s) => broadcast(a!, s!)) : undefined;
    return [{ shape, elemType: DataType.BOOL }];
  },
};
