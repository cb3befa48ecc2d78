/**
 * Static evaluation ("constant folding") of pixel-independent nodes: op type → evaluator over
 * constant inputs. `analyze` evaluates a node whose inputs all have known values (initializers,
 * Constants, shapes of tensors whose size is fixed by the manifest) and folds the outputs into
 * initializers, so shape arithmetic such as Swin's `x % window`, Range/ScatterND attention masks
 * and computed Pad amounts reaches the gradient rules as constants. Semantics follow the
 * model's own opset (attribute vs input forms).
 */
import type { NodeProto } from "../proto.ts";
import { type Const, EVALUABLE_TYPES } from "./array.ts";
import { ELEMENTWISE_EVALUATORS } from "./elementwise.ts";
import { INDEXING_EVALUATORS } from "./indexing.ts";
import { LAYOUT_EVALUATORS } from "./layout.ts";
import type { Evaluator } from "./types.ts";

export type { Const } from "./array.ts";

export const EVALUATORS: Readonly<Record<string, Evaluator>> = {
  ...ELEMENTWISE_EVALUATORS,
  ...LAYOUT_EVALUATORS,
  ...INDEXING_EVALUATORS,
};

/** Outputs of `node` on constant inputs, or undefined when the op or variant is not evaluated here. */
export function evaluateNode(node: NodeProto, opset: number, inputs: (Const | undefined)[]): Const[] | undefined {
  const evaluator = EVALUATORS[node.op_type ?? ""];
  if (!evaluator || (node.domain && node.domain !== "ai.onnx")) return undefined;
  if (inputs.some((x) => x && !EVALUABLE_TYPES.has(x.elemType))) return undefined;
  try {
    const out = evaluator({ node, opset, inputs });
    return out.every((o) => EVALUABLE_TYPES.has(o.elemType)) ? out : undefined;
  } catch {
    // An unevaluated variant (or malformed constants) leaves the node to the runtime.
    return undefined;
  }
}
