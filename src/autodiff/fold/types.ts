/** What one static evaluator sees: the node, the model's opset and the constant inputs. */
import type { NodeProto } from "../proto.ts";
import type { Const } from "./array.ts";

export interface EvalContext {
  readonly node: NodeProto;
  readonly opset: number;
  /** Constant value of input i; undefined for an absent optional input. */
  readonly inputs: readonly (Const | undefined)[];
}

/** Computes all outputs, or throws RuleError for a variant it does not evaluate. */
export type Evaluator = (ctx: EvalContext) => Const[];

/** Input i, which must be present. */
export function need(ctx: EvalContext, i: number): Const {
  const x = ctx.inputs[i];
  if (!x) throw new Error(`${ctx.node.op_type}: input ${i} is missing`);
  return x;
}
