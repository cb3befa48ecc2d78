import { checkFixture } from "../testing.ts";

// Batched matmul (both operands from the pixels), transpose-like, contraction with a weight and
// summed-out letters (Expand in the backward); equations with spaces, as torch writes them.
for (const opset of [12, 13, 17]) {
  Deno.test(`Einsum gradient matches torch at opset ${opset}`, () => checkFixture(`einsum_opset${opset}`));
}
