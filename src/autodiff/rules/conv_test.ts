import assert from "node:assert/strict";
import { deriveGradientModel } from "../derive.ts";
import { decodeModel } from "../proto.ts";
import { checkFixture, loadFixture } from "../testing.ts";

const CASES = [
  "conv_basic",
  "conv_strided_odd",
  "conv_asym",
  "conv_depthwise",
  "autopad_variants",
  "conv_flip_chain",
  "conv_flip_fallback",
];
for (const name of CASES) {
  Deno.test(`Conv gradient matches torch: ${name}`, () => checkFixture(name));
}

/** Op types of the backward Convs the rule emitted (builder-named nodes). */
function backwardConvs(
  name: string,
  stridedConv: "subPixel" | "transpose" = "transpose",
  stridedDepthwise: "dilate" | "transpose" = "dilate",
): string[] {
  const f = loadFixture(name);
  const derived = deriveGradientModel(f.bytes, f.spec, { loss: "ce", formulations: { stridedConv, stridedDepthwise } });
  return decodeModel(derived.bytes).graph!.node
    .filter((n) => n.name?.startsWith("ad/") && (n.op_type === "Conv" || n.op_type === "ConvTranspose"))
    .map((n) => n.op_type ?? "");
}

Deno.test("stride-1 Convs with constant weights backpropagate through a flipped Conv", () => {
  assert.deepEqual(backwardConvs("conv_flip_chain"), ["Conv", "Conv", "Conv", "Conv", "Conv"]);
  // Reverse order: 2 → 20 channels and two pads beyond d·(K−1) keep ConvTranspose.
  assert.deepEqual(backwardConvs("conv_flip_fallback"), ["ConvTranspose", "Conv", "ConvTranspose", "ConvTranspose"]);
});

const STRIDED = ["conv_strided_odd", "conv_depthwise", "autopad_variants", "conv_strided_mix", "conv_strided_patchify"];
for (const name of [...STRIDED, "conv_strided_opset9", "conv_asym", "tf_like_nhwc"]) {
  for (const stridedConv of ["subPixel", "transpose"] as const) {
    Deno.test(`strided Conv gradient (${stridedConv}) matches torch: ${name}`, () =>
      checkFixture(name, "indices", 1e-4, { stridedConv, stridedDepthwise: "transpose" }));
  }
}
// Strided depthwise Convs (3×3/2 with pad 1 and 0, even 4×4/2 and 5×5/3 cut to the input, odd sizes).
for (const name of ["conv_depthwise", "depthwise_strided_mix", "depthwise_strided_opset9"]) {
  for (const stridedDepthwise of ["dilate", "transpose"] as const) {
    Deno.test(`strided depthwise Conv gradient (${stridedDepthwise}) matches torch: ${name}`, () =>
      checkFixture(name, "indices", 1e-4, { stridedDepthwise }));
  }
}

/** Op types of the derived graph's nodes. */
function derivedOps(name: string, stridedConv: "subPixel" | "transpose"): string[] {
  const f = loadFixture(name);
  const derived = deriveGradientModel(f.bytes, f.spec, { loss: "ce", formulations: { stridedConv } });
  return decodeModel(derived.bytes).graph!.node.map((n) => n.op_type ?? "");
}

Deno.test("strided Convs: ConvTranspose by default, sub-pixel Convs when chosen and applicable", () => {
  // Default (measured faster on both CPU backends): strided forwards keep ConvTranspose.
  assert.deepEqual(backwardConvs("conv_strided_mix"), [
    "ConvTranspose",
    "ConvTranspose",
    "ConvTranspose",
    "ConvTranspose",
  ]);
  // The strided depthwise 3×3/2: zeros inserted into ∂y, then a stride-1 depthwise Conv.
  assert.deepEqual(backwardConvs("conv_depthwise"), ["Conv", "Conv"]);
  assert.deepEqual(backwardConvs("conv_depthwise", "transpose", "transpose"), ["ConvTranspose", "Conv"]);
  assert.deepEqual(backwardConvs("depthwise_strided_opset9"), ["ConvTranspose"]);
  // "subPixel": 7×7/2, 3×3/2 grouped and 2×2/2 through DepthToSpace; the 1×1/2 through a Pad.
  assert.deepEqual(backwardConvs("conv_strided_mix", "subPixel"), ["Conv", "Conv", "Conv", "Conv"]);
  assert.equal(derivedOps("conv_strided_mix", "subPixel").filter((op) => op === "DepthToSpace").length, 3);
  assert.deepEqual(backwardConvs("conv_depthwise", "subPixel", "transpose"), ["Conv", "Conv"]);
  assert.equal(derivedOps("conv_depthwise", "subPixel").filter((op) => op === "DepthToSpace").length, 0);
  // Unequal strides with dilation, and grouped Convs below opset 11 (no CRD), keep ConvTranspose.
  assert.deepEqual(backwardConvs("conv_asym", "subPixel"), ["ConvTranspose"]);
  assert.deepEqual(backwardConvs("conv_strided_opset9", "subPixel"), ["ConvTranspose", "Conv"]);
});
