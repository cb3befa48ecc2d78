import { checkFixture } from "../testing.ts";

Deno.test("ReduceMean/ReduceSum gradient matches torch", () => checkFixture("broadcast_se"));

// amax/amin (ReduceMax/Min), torch.max(dim).values (ReduceMax + ArgMax), vector_norm (Abs/Pow or ReduceL2).
for (const opset of [11, 13, 18]) {
  Deno.test(`ReduceMax/ReduceMin/ReduceL2 gradients match torch at opset ${opset}`, () =>
    checkFixture(`reduce_extrema_l2_opset${opset}`));
}
