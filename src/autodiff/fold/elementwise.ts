/**
 * Pointwise evaluators with numpy broadcasting: arithmetic (integer Div truncates like
 * onnxruntime; Mod follows `fmod`), comparisons and logic (bool results), variadic Min/Max/Sum/
 * Mean, Where, Cast (float32 rounding; integer targets truncate) and unary maths.
 */
import { attrInt } from "../graph.ts";
import { RuleError } from "../errors.ts";
import { DataType } from "../proto.ts";
import { coerce, type Const, isFloatType, mapBroadcast } from "./array.ts";
import { type Evaluator, need } from "./types.ts";

function arithmetic(f: (a: number, b: number, float: boolean) => number): Evaluator {
  return (ctx) => {
    const a = need(ctx, 0), b = need(ctx, 1);
    const float = isFloatType(a.elemType);
    return [mapBroadcast([a, b], a.elemType, ([x, y]) => f(x, y, float))];
  };
}

function predicate(f: (a: number, b: number) => boolean): Evaluator {
  return (ctx) => [mapBroadcast([need(ctx, 0), need(ctx, 1)], DataType.BOOL, ([x, y]) => (f(x, y) ? 1 : 0))];
}

function unary(f: (a: number) => number, integerOk = true): Evaluator {
  return (ctx) => {
    const x = need(ctx, 0);
    if (!integerOk && !isFloatType(x.elemType)) throw new RuleError(`${ctx.node.op_type} on integers`);
    return [mapBroadcast([x], x.elemType, ([v]) => f(v))];
  };
}

function variadic(f: (vals: number[]) => number): Evaluator {
  return (ctx) => {
    const xs = ctx.inputs.filter((x): x is Const => x !== undefined);
    return [mapBroadcast(xs, xs[0].elemType, f)];
  };
}

function mod(a: number, b: number, float: boolean, fmod: boolean): number {
  if (b === 0) throw new RuleError("Mod by zero");
  if (fmod || float) return a % b;
  const r = a % b;
  return r !== 0 && (r < 0) !== (b < 0) ? r + b : r;
}

/** Banker's rounding (ONNX Round: halves to even). */
function roundHalfEven(v: number): number {
  const f = Math.floor(v), d = v - f;
  if (d !== 0.5) return Math.round(v);
  return f % 2 === 0 ? f : f + 1;
}

export const ELEMENTWISE_EVALUATORS: Readonly<Record<string, Evaluator>> = {
  Add: arithmetic((a, b) => a + b),
  Sub: arithmetic((a, b) => a - b),
  Mul: arithmetic((a, b) => a * b),
  Div: arithmetic((a, b, float) => {
    if (float) return a / b;
    if (b === 0) throw new RuleError("integer Div by zero");
    return Math.trunc(a / b);
  }),
  Pow: arithmetic((a, b) => a ** b),
  Mod: (ctx) => {
    const fmod = attrInt(ctx.node, "fmod", 0) === 1;
    return arithmetic((a, b, float) => mod(a, b, float, fmod))(ctx);
  },
  Equal: predicate((a, b) => a === b),
  Less: predicate((a, b) => a < b),
  Greater: predicate((a, b) => a > b),
  LessOrEqual: predicate((a, b) => a <= b),
  GreaterOrEqual: predicate((a, b) => a >= b),
  And: predicate((a, b) => a !== 0 && b !== 0),
  Or: predicate((a, b) => a !== 0 || b !== 0),
  Xor: predicate((a, b) => (a !== 0) !== (b !== 0)),
  Not: (ctx) => [mapBroadcast([need(ctx, 0)], DataType.BOOL, ([v]) => (v ? 0 : 1))],
  Neg: unary((v) => -v),
  Abs: unary(Math.abs),
  Sign: unary(Math.sign),
  Floor: unary(Math.floor, false),
  Ceil: unary(Math.ceil, false),
  Round: unary(roundHalfEven, false),
  Sqrt: unary(Math.sqrt, false),
  Exp: unary(Math.exp, false),
  Log: unary(Math.log, false),
  Reciprocal: unary((v) => 1 / v, false),
  Relu: unary((v) => Math.max(0, v)),
  Identity: (ctx) => [need(ctx, 0)],
  Min: variadic((vs) => Math.min(...vs)),
  Max: variadic((vs) => Math.max(...vs)),
  Sum: variadic((vs) => vs.reduce((a, b) => a + b, 0)),
  Mean: variadic((vs) => vs.reduce((a, b) => a + b, 0) / vs.length),
  Where: (ctx) => {
    const [c, x, y] = [need(ctx, 0), need(ctx, 1), need(ctx, 2)];
    return [mapBroadcast([c, x, y], x.elemType, ([k, a, b]) => (k ? a : b))];
  },
  Cast: (ctx) => {
    const to = attrInt(ctx.node, "to", DataType.FLOAT);
    const x = need(ctx, 0);
    return [{ dims: x.dims, elemType: to, data: x.data.map((v) => coerce(v, to)) }];
  },
};
