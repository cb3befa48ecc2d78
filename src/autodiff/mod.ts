/**
 * Exact input gradients for ONNX classifiers: `deriveGradientModel` writes a second ONNX model
 * (standard ops, the model's own opset) computing logits, per-row loss and ∂loss/∂pixels.
 * Supported ops, static evaluation and dynamic sizes: docs/GRADIENTS.md.
 */
export {
  type DerivedModel,
  deriveGradientModel,
  type DeriveOptions,
  type GradientInputSpec,
  type GradientSpec,
  MAX_OPSET,
  MIN_OPSET,
} from "./derive.ts";
export { NotDifferentiableError, type UnsupportedNode } from "./errors.ts";
export { defaultSpec, findUnsupportedOps, inspectModel, type ModelInspection, type ValueSpec } from "./inspect.ts";
export { decodeModel, encodeModel } from "./proto.ts";
export { RULES } from "./rules/index.ts";
export type { MaxPoolMode } from "./rules/types.ts";
export { DEFAULT_FORMULATIONS, type Formulations, formulationsFor } from "./rules/formulations.ts";
