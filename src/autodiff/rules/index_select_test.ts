import { checkFixture } from "../testing.ts";

// GatherElements: constant permutation below opset 16 (plain scatter), repeated indices at 16 (scatter-add).
for (const opset of [13, 16]) {
  Deno.test(`GatherElements gradient matches torch at opset ${opset}`, () =>
    checkFixture(`gather_elements_opset${opset}`));
}
// TopK values get the gradient; ArgMax, TopK indices, Floor and Sign branches carry none.
Deno.test("TopK gradient matches torch; ArgMax/indices/Floor/Sign branches carry no gradient", () =>
  checkFixture("no_gradient_branches"));
