import { checkFixture } from "../testing.ts";

// torch's cls-token expand: Equal/Where on a symbolic shape vector, then Expand; Gather of q/k/v
// and of the class token on activations (scalar constant indices).
Deno.test("Expand/Where/Equal shape subgraph and Gather gradient match torch (tiny ViT)", () =>
  checkFixture("tiny_vit_opset13"));

// Greater/GreaterOrEqual/Less/Not/And on activations: bool masks without gradient, Where routes it.
Deno.test("comparison masks on the pixel path carry no gradient; Where matches torch", () =>
  checkFixture("activation_masks"));
