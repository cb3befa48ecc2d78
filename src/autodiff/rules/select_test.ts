import { checkFixture } from "../testing.ts";

// torch's cls-token expand: Equal/Where on a symbolic shape vector, then Expand; Gather of q/k/v
// and of the class token on activations (scalar constant indices).
Deno.test("Expand/Where/Equal shape subgraph and Gather gradient match torch (tiny ViT)", () =>
  checkFixture("tiny_vit_opset13"));
