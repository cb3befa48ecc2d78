import { checkFixture } from "../testing.ts";

for (const name of ["act_rectifiers", "act_clip_opset9", "act_smooth", "act_exp_log_pow"]) {
  Deno.test(`activation gradient matches torch: ${name}`, () => checkFixture(name));
}

Deno.test("Erf (GELU) gradient matches torch", () => checkFixture("layernorm_gelu_opset13"));
