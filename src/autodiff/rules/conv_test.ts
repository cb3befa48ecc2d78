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
function backwardConvs(name: string): string[] {
  const f = loadFixture(name);
  const graph = decodeModel(deriveGradientModel(f.bytes, f.spec, { loss: "ce" }).bytes).graph!;
  return graph.node
    .filter((n) => n.name?.startsWith("ad/") && (n.op_type === "Conv" || n.op_type === "ConvTranspose"))
    .map((n) => n.op_type ?? "");
}

Deno.test("stride-1 Convs with constant weights backpropagate through a flipped Conv", () => {
  assert.deepEqual(backwardConvs("conv_flip_chain"), ["Conv", "Conv", "Conv", "Conv", "Conv"]);
  // Reverse order: 2 → 20 channels and two pads beyond d·(K−1) keep ConvTranspose.
  assert.deepEqual(backwardConvs("conv_flip_fallback"), ["ConvTranspose", "Conv", "ConvTranspose", "ConvTranspose"]);
  // Strided forwards keep ConvTranspose (conv_depthwise: a stride-1 grouped Conv, then a strided one).
  assert.deepEqual(backwardConvs("conv_strided_odd"), ["ConvTranspose"]);
  assert.deepEqual(backwardConvs("conv_depthwise"), ["ConvTranspose", "Conv"]);
});
