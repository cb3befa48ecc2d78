import { checkFixture } from "../testing.ts";

Deno.test("BatchNormalization (inference) gradient matches torch", () => checkFixture("bn_relu"));

// LayerNorm + GELU: decomposed (ReduceMean/Sub/Pow/Sqrt/Div/Erf) at opset 13, LayerNormalization at 17.
for (const opset of [13, 17]) {
  Deno.test(`LayerNorm/GELU gradient matches torch at opset ${opset}`, () =>
    checkFixture(`layernorm_gelu_opset${opset}`));
}
