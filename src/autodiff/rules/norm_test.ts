import { checkFixture } from "../testing.ts";

Deno.test("BatchNormalization (inference) gradient matches torch", () => checkFixture("bn_relu"));

// LayerNorm + GELU: decomposed (ReduceMean/Sub/Pow/Sqrt/Div/Erf) at opset 13, LayerNormalization at 17.
for (const opset of [13, 17]) {
  Deno.test(`LayerNorm/GELU gradient matches torch at opset ${opset}`, () =>
    checkFixture(`layernorm_gelu_opset${opset}`));
}

// InstanceNorm2d, and GroupNorm as torch exports it (Reshape + InstanceNormalization + Mul/Add).
for (const opset of [9, 13]) {
  Deno.test(`InstanceNormalization gradient matches torch at opset ${opset}`, () =>
    checkFixture(`instance_norm_opset${opset}`));
}
// GroupNormalization: scale per group at 18, per channel at 21.
for (const opset of [18, 21]) {
  Deno.test(`GroupNormalization gradient matches torch at opset ${opset}`, () =>
    checkFixture(`group_norm_opset${opset}`));
}
