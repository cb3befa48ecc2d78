import { checkFixture } from "../testing.ts";

// GatherElements: constant permutation below opset 16 (plain scatter), repeated indices at 16 (scatter-add).
for (const opset of [13, 16]) {
  Deno.test(`GatherElements gradient matches torch at opset ${opset}`, () =>
    checkFixture(`gather_elements_opset${opset}`));
}
// TopK values get the gradient; ArgMax, TopK indices, Floor and Sign branches carry none.
// TopK's backward scatters with Scatter at opset 10, ScatterElements from 11.
for (
  const [opset, name] of [[10, "no_gradient_branches_opset10"], [11, "no_gradient_branches_opset11"], [
    13,
    "no_gradient_branches",
  ]] as const
) {
  Deno.test(`TopK gradient matches torch; ArgMax/indices/Floor/Sign branches carry no gradient (opset ${opset})`, () =>
    checkFixture(name));
}
