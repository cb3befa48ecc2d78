import { checkFixture } from "../testing.ts";

// Softmax at opset 13 and at opset 9 (coerced-2D axis semantics), probability outputs.
for (const name of ["softmax_probs", "old_opset9", "layout_ops"]) {
  Deno.test(`Softmax/LogSoftmax gradient matches torch: ${name}`, () => checkFixture(name));
}

// LogSoftmax at opset 11 on a 4-D input: coerced to 2-D, normalised over C·H·W.
Deno.test("LogSoftmax opset-11 axis semantics match torch", () => checkFixture("misc_opset11"));
