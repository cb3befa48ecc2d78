import { checkFixture } from "../testing.ts";

// Hand-built graphs (tools/exporter_fixtures.py) for patterns torch.onnx never emits, so the torch
// exports elsewhere cannot catch a rule that gets them wrong.

// torch exports a separate Pad; tf2onnx and others put pads and count_include_pad = 1 in one node.
Deno.test("AveragePool with pads and count_include_pad = 1 in one node matches torch", () =>
  checkFixture("avgpool_pads_incl_node"));

// Opset 13 changed Softmax's default axis from 1 (coerced 2-D) to −1; attention scores are rank 3.
Deno.test("Softmax without axis at opset 13 on rank-3 scores normalises over the last axis", () =>
  checkFixture("softmax_default_axis_opset13"));

// Variances ≪ 1 with epsilon = 1e-3: the backward must divide by sqrt(var + epsilon), not sqrt(var).
Deno.test("BatchNormalization with small variances and a non-default epsilon matches torch", () =>
  checkFixture("bn_small_var"));

// torch writes every attribute; other exporters omit defaults (LeakyRelu α = 0.01, HardSigmoid 0.2/0.5).
Deno.test("LeakyRelu and HardSigmoid without attributes use the spec defaults", () =>
  checkFixture("activation_default_attrs"));
