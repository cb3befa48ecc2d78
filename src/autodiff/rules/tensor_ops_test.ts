import { checkFixture } from "../testing.ts";

// Split, Concat, Slice (opset 10 inputs and 13), Pad (opset 9 attribute form and 13 input form).
for (const name of ["layout_ops", "old_opset10_slice", "old_opset9", "tf_like_nhwc"]) {
  Deno.test(`Concat/Split/Slice/Pad gradient matches torch: ${name}`, () => checkFixture(name));
}
