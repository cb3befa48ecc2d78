/** Op type → rule (default ONNX domain). Ops without `backward` are only evaluated statically. */
import {
  clipRule,
  erfRule,
  expRule,
  hardSigmoidRule,
  hardSwishRule,
  leakyReluRule,
  logRule,
  powRule,
  preluRule,
  reluRule,
  sigmoidRule,
  sqrtRule,
  tanhRule,
} from "./activation.ts";
import { convRule } from "./conv.ts";
import { binaryRule, negRule } from "./elementwise.ts";
import { gemmRule, matmulRule } from "./gemm.ts";
import { batchNormRule, layerNormRule } from "./norm.ts";
import { averagePoolRule, globalAveragePoolRule, globalMaxPoolRule, maxPoolRule } from "./pool.ts";
import { reduceRule } from "./reduce.ts";
import {
  castRule,
  constantOfShapeRule,
  constantRule,
  flattenRule,
  gatherRule,
  identityRule,
  reshapeRule,
  shapeRule,
  squeezeRule,
  transposeRule,
  unsqueezeRule,
} from "./shape_ops.ts";
import { equalRule, expandRule, whereRule } from "./select.ts";
import { logSoftmaxRule, softmaxRule } from "./softmax.ts";
import { concatRule, padRule, sliceRule, splitRule } from "./tensor_ops.ts";
import type { OpRule } from "./types.ts";

export const RULES: Readonly<Record<string, OpRule>> = {
  Conv: convRule,
  Gemm: gemmRule,
  MatMul: matmulRule,
  Add: binaryRule,
  Sub: binaryRule,
  Mul: binaryRule,
  Div: binaryRule,
  Neg: negRule,
  Relu: reluRule,
  LeakyRelu: leakyReluRule,
  PRelu: preluRule,
  Clip: clipRule,
  Sigmoid: sigmoidRule,
  HardSigmoid: hardSigmoidRule,
  HardSwish: hardSwishRule,
  Tanh: tanhRule,
  Exp: expRule,
  Log: logRule,
  Sqrt: sqrtRule,
  Pow: powRule,
  Erf: erfRule,
  Softmax: softmaxRule,
  LogSoftmax: logSoftmaxRule,
  MaxPool: maxPoolRule,
  AveragePool: averagePoolRule,
  GlobalAveragePool: globalAveragePoolRule,
  GlobalMaxPool: globalMaxPoolRule,
  BatchNormalization: batchNormRule,
  LayerNormalization: layerNormRule,
  Flatten: flattenRule,
  Reshape: reshapeRule,
  Transpose: transposeRule,
  Squeeze: squeezeRule,
  Unsqueeze: unsqueezeRule,
  Concat: concatRule,
  Split: splitRule,
  Slice: sliceRule,
  Pad: padRule,
  ReduceMean: reduceRule,
  ReduceSum: reduceRule,
  Identity: identityRule,
  Dropout: identityRule,
  Cast: castRule,
  Shape: shapeRule,
  Constant: constantRule,
  ConstantOfShape: constantOfShapeRule,
  Gather: gatherRule,
  Expand: expandRule,
  Where: whereRule,
  Equal: equalRule,
};
