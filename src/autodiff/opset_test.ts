import { checkFixture } from "./testing.ts";

// The same network exported at every opset 9–21: Clip, Pad, Slice, ReduceMean, Softmax,
// Squeeze/Unsqueeze and MaxPool (scatter-add from 16) change signature or semantics along the way.
for (let opset = 9; opset <= 21; opset++) {
  for (const mode of ["indices", "mask"] as const) {
    Deno.test(`opset ${opset} (${mode}): logits, loss and gradient match torch`, () =>
      checkFixture(`sweep_opset${opset}`, mode));
  }
}
