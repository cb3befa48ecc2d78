/**
 * Broadcasting arithmetic: Add, Sub, Mul, Div, Neg. Gradients are reduced back to each operand's
 * shape (ReduceSum over broadcast axes, keepdims for size-1 axes, dropped leading axes). On small
 * integer constants (shape arithmetic) `infer` also computes the value, symbolically for
 * symbolic dims.
 */
import type { GraphBuilder } from "../graph.ts";
import { DataType } from "../proto.ts";
import { broadcast, knownShape } from "./shape.ts";
import type { Dim, OpRule, RuleContext, TensorInfo } from "./types.ts";

/** Sum `g` (shaped `out`) down to `target`, the shape of an operand that was broadcast. */
export function unbroadcast(b: GraphBuilder, g: string, out: readonly Dim[], target: readonly Dim[]): string {
  const lead = out.length - target.length;
  const kept = target.flatMap((d, i) => (d === 1 && out[lead + i] !== 1 ? [lead + i] : []));
  let r = g;
  if (kept.length > 0) r = b.reduceSum(r, kept, true);
  if (lead > 0) r = b.reduceSum(r, Array.from({ length: lead }, (_, i) => i), false);
  return r;
}

type Arith = (a: number, b: number) => number;
const ARITH: Record<string, Arith> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b) => a / b,
};

function symbolic(op: string, a: Dim, b: Dim, integer: boolean): Dim {
  if (typeof a === "number" && typeof b === "number") {
    const v = ARITH[op](a, b);
    return integer ? Math.trunc(v) : v;
  }
  if (op === "Mul" && a === 1) return b;
  if ((op === "Mul" || op === "Div") && b === 1) return a;
  if ((op === "Add" || op === "Sub") && b === 0) return a;
  return `(${a}${{ Add: "+", Sub: "-", Mul: "*", Div: "/" }[op]}${b})`;
}

function inferBinary(ctx: RuleContext): TensorInfo[] {
  const a = ctx.info(0), b = ctx.info(1);
  const shape = a.shape && b.shape ? broadcast(a.shape, b.shape) : undefined;
  const info: TensorInfo = { shape, elemType: a.elemType || b.elemType };
  const op = ctx.node.op_type ?? "";
  if (a.value && b.value && shape && shape.length <= 1) {
    const n = Math.max(a.value.length, b.value.length);
    if ((a.value.length === n || a.value.length === 1) && (b.value.length === n || b.value.length === 1)) {
      const integer = info.elemType !== DataType.FLOAT && info.elemType !== DataType.DOUBLE;
      info.value = Array.from(
        { length: n },
        (_, i) =>
          symbolic(op, a.value![a.value!.length === 1 ? 0 : i], b.value![b.value!.length === 1 ? 0 : i], integer),
      );
    }
  }
  return [info];
}

function binaryBackward(ctx: RuleContext, g: string): (string | undefined)[] {
  const b = ctx.b, op = ctx.node.op_type;
  const out = broadcast(knownShape(ctx.info(0)), knownShape(ctx.info(1)));
  const [x, y] = [ctx.input(0), ctx.input(1)];
  const local = (i: number): string => {
    if (op === "Add") return g;
    if (op === "Sub") return i === 0 ? g : b.op("Neg", [g]);
    if (op === "Mul") return b.op("Mul", [g, i === 0 ? y : x]);
    // Div: ∂(x/y)/∂x = 1/y; ∂(x/y)/∂y = −x/y².
    if (i === 0) return b.op("Div", [g, y]);
    return b.op("Neg", [b.op("Div", [b.op("Mul", [g, x]), b.op("Mul", [y, y])])]);
  };
  return [0, 1].map((i) => (ctx.active(i) ? unbroadcast(b, local(i), out, knownShape(ctx.info(i))) : undefined));
}

export const binaryRule: OpRule = {
  infer: inferBinary,
  backward: (ctx, [g]) => binaryBackward(ctx, g!),
};

export const negRule: OpRule = {
  infer: (ctx) => [{ ...ctx.info(0), value: undefined }],
  backward: (ctx, [g]) => [ctx.b.op("Neg", [g!])],
};

function inferVariadic(ctx: RuleContext): TensorInfo[] {
  const shapes = ctx.node.input.map((_, i) => knownShape(ctx.info(i), `${ctx.node.op_type} input`));
  return [{ shape: shapes.reduce((a, s) => broadcast(a, s)), elemType: ctx.info(0).elemType }];
}

/**
 * Variadic Min/Max: ∂ goes to the inputs equal to the result, split evenly between ties (torch's
 * maximum/minimum give each of two tied inputs half); Sum passes ∂y to every input, Mean ∂y/n.
 * Each share is summed back to its input's shape.
 */
export const variadicRule: OpRule = {
  infer: inferVariadic,
  backward(ctx, [g]) {
    const b = ctx.b, op = ctx.node.op_type;
    const out = inferVariadic(ctx)[0].shape!;
    const n = ctx.node.input.length;
    const shapeOf = (i: number) => knownShape(ctx.info(i));
    if (op === "Sum" || op === "Mean") {
      const share = op === "Mean" && n > 1 ? b.op("Div", [g!, b.constF32([n], [])]) : g!;
      return ctx.node.input.map((_, i) => (ctx.active(i) ? unbroadcast(b, share, out, shapeOf(i)) : undefined));
    }
    if (n === 1) return [g];
    const y = ctx.node.output[0];
    const masks = ctx.node.input.map((name) => b.toFloat(b.equalF(name, y)));
    const count = masks.reduce((acc, m) => b.op("Add", [acc, m]));
    const perTie = b.op("Div", [g!, count]);
    return ctx.node.input.map((_, i) =>
      ctx.active(i) ? unbroadcast(b, b.op("Mul", [perTie, masks[i]]), out, shapeOf(i)) : undefined
    );
  },
};
