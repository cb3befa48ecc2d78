import { checkFixture } from "./testing.ts";

// Tiny ViT: patch-embedding Conv, class token Concat, position Add, LayerNorm (decomposed at 13,
// LayerNormalization at 17), batched attention MatMuls + Softmax, GELU (Erf), class-token Gather.
for (const opset of [13, 17]) {
  Deno.test(`tiny ViT at opset ${opset}: logits, loss and gradient match torch`, () =>
    checkFixture(`tiny_vit_opset${opset}`));
}
