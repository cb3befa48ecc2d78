import { checkFixture } from "../testing.ts";

for (const name of ["act_rectifiers", "act_clip_opset9", "act_smooth", "act_exp_log_pow"]) {
  Deno.test(`activation gradient matches torch: ${name}`, () => checkFixture(name));
}

Deno.test("Erf (GELU) gradient matches torch", () => checkFixture("layernorm_gelu_opset13"));

for (const opset of [12, 13]) {
  Deno.test(`Softplus/Selu/Elu/Celu (and Mish as Softplus·Tanh) gradients match torch at opset ${opset}`, () =>
    checkFixture(`act_exponential_opset${opset}`));
}
Deno.test("Gelu (opset 20, both approximations) and Mish (opset 18 op) gradients match torch", () =>
  checkFixture("gelu_mish_opset20"));
