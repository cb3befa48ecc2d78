import assert from "node:assert/strict";
import { deriveGradientModel } from "./derive.ts";
import { decodeModel } from "./proto.ts";
import { checkFixture, loadFixture } from "./testing.ts";

// Swin (torchvision SwinTransformer, embed 16, windows 4): shifted-window masks built by Mod,
// Range, ScatterND, Where on shapes, Pads computed from `x % window`, PatchMerging's step-2
// Slices. 40 px: the token grid (10) is padded to the window. MaxViT-like: Einsum attention,
// block and grid partitions, relative position bias. One export with constant folding off.
for (
  const name of [
    "swin_like_opset13",
    "swin_like_opset17_unfolded",
    "maxvit_like_opset13",
    "maxvit_like_opset17_unfolded",
  ]
) {
  Deno.test(`${name}: logits, loss and gradient match torch`, () => checkFixture(name));
}

Deno.test("Swin's pixel-independent shape arithmetic is folded before differentiating", () => {
  const f = loadFixture("swin_like_opset13");
  const source = decodeModel(f.bytes).graph!.node.map((n) => n.op_type);
  const derived = decodeModel(deriveGradientModel(f.bytes, f.spec, { loss: "ce" }).bytes).graph!.node.map((n) =>
    n.op_type
  );
  for (const op of ["Mod", "Range", "ScatterND", "Not"]) {
    assert.ok(source.includes(op), `the export has ${op}`);
    assert.ok(!derived.includes(op), `${op} is folded away`);
  }
});
