import { checkFixture } from "../testing.ts";

for (const name of ["gemm_mlp", "matmul_batched", "tf_like_nhwc"]) {
  Deno.test(`Gemm/MatMul gradient matches torch: ${name}`, () => checkFixture(name));
}

// onnx.helper model at opset 11: Gemm with transA=1, alpha=0.7, beta=0.3 and a broadcast C.
Deno.test("Gemm transA/alpha/beta gradient matches torch", () => checkFixture("misc_opset11"));
