import { checkFixture } from "../testing.ts";

// Transpose/Unsqueeze/Squeeze/Reshape/Flatten with shape subgraphs, NHWC input.
for (const name of ["layout_ops", "tf_like_nhwc", "reserved_names"]) {
  Deno.test(`layout op gradient matches torch: ${name}`, () => checkFixture(name));
}

// Dropout (inference), float Cast and Identity pass the gradient through.
Deno.test("Dropout/Cast/Identity gradient matches torch", () => checkFixture("misc_opset11"));

// Gather with constant 2-D indices on an activation.
for (const opset of [11, 13]) {
  Deno.test(`Gather (2-D constant indices) gradient matches torch at opset ${opset}`, () =>
    checkFixture(`gather_pixels_opset${opset}`));
}
