import { checkFixture } from "../testing.ts";

// Split, Concat, Slice (opset 10 inputs and 13), Pad (opset 9 attribute form and 13 input form).
for (const name of ["layout_ops", "old_opset10_slice", "old_opset9", "tf_like_nhwc"]) {
  Deno.test(`Concat/Split/Slice/Pad gradient matches torch: ${name}`, () => checkFixture(name));
}

// Steps > 1 and negative steps (torch.flip).
for (const opset of [10, 13]) {
  Deno.test(`Slice with any step matches torch at opset ${opset}`, () => checkFixture(`slice_steps_opset${opset}`));
}
// Reflect and edge (replicate) padding: attribute form at 9, inputs from 11, at 18.
for (const opset of [9, 11, 13, 18]) {
  Deno.test(`Pad reflect/edge gradient matches torch at opset ${opset}`, () => checkFixture(`pad_modes_opset${opset}`));
}
for (const opset of [9, 13]) {
  Deno.test(`Tile gradient matches torch at opset ${opset}`, () => checkFixture(`tile_opset${opset}`));
}
