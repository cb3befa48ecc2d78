import assert from "node:assert/strict";
import { makeNode, valueInfo } from "../graph.ts";
import { deriveGradientModel } from "../mod.ts";
import type { GradientSpec } from "../derive.ts";
import { DataType, encodeModel, type ModelProto } from "../proto.ts";
import { makeTensor } from "../tensor.ts";
import { checkFixture, runGradientModel } from "../testing.ts";

for (const name of ["act_rectifiers", "act_clip_opset9", "act_smooth", "act_exp_log_pow"]) {
  Deno.test(`activation gradient matches torch: ${name}`, () => checkFixture(name));
}

for (const clipMask of ["where", "cast", "sign"] as const) {
  for (const name of ["act_rectifiers", "act_clip_opset9"]) {
    Deno.test(`Clip (ReLU6) gradient with the ${clipMask} mask matches torch: ${name}`, () =>
      checkFixture(name, "indices", 1e-4, { clipMask }));
  }
}

Deno.test("Erf (GELU) gradient matches torch", () => checkFixture("layernorm_gelu_opset13"));

for (const opset of [12, 13]) {
  Deno.test(`Softplus/Selu/Elu/Celu (and Mish as Softplus·Tanh) gradients match torch at opset ${opset}`, () =>
    checkFixture(`act_exponential_opset${opset}`));
}
Deno.test("Gelu (opset 20, both approximations) and Mish (opset 18 op) gradients match torch", () =>
  checkFixture("gelu_mish_opset20"));

/** x [N,1,2,4] → ·8 → Clip(0, 6) (inputs from opset 11, attributes before) → [N,8] → MatMul → y [N,2]. */
function clipModel(opset: 9 | 13): Uint8Array {
  const clip = opset >= 11
    ? makeNode("Clip", ["scaled", "lo", "hi"], ["clipped"])
    : makeNode("Clip", ["scaled"], ["clipped"], { min: { f: 0 }, max: { f: 6 } });
  const model = {
    ir_version: 8,
    opset_import: [{ domain: "", version: opset }],
    graph: {
      name: "clip",
      node: [
        makeNode("Mul", ["x", "eight"], ["scaled"]),
        clip,
        makeNode("Reshape", ["clipped", "shape"], ["flat"]),
        makeNode("MatMul", ["flat", "W"], ["y"]),
      ],
      initializer: [
        makeTensor("eight", DataType.FLOAT, [], [8]),
        makeTensor("lo", DataType.FLOAT, [], [0]),
        makeTensor("hi", DataType.FLOAT, [], [6]),
        makeTensor("shape", DataType.INT64, [2], [0, -1]),
        makeTensor("W", DataType.FLOAT, [8, 2], Array.from({ length: 16 }, (_, i) => (i % 2 ? -1 : i / 2 + 2))),
      ],
      input: [valueInfo("x", DataType.FLOAT, ["N", 1, 2, 4])],
      output: [valueInfo("y", DataType.FLOAT, ["N", 2])],
    },
  } as unknown as ModelProto;
  return encodeModel(model);
}

// Pixels ·8 land below, on and inside the bounds, next to them (the smallest denormal, 6 − ulp), and on −0.
const CLIP_PIXELS = Float32Array.of(0, 2 ** -149, 0.375, 0.75, 0.75 - 2 ** -24, 1, -0.25, -0);
const CLIP_INSIDE = [false, true, true, false, true, false, false, false];

for (const opset of [9, 13] as const) {
  Deno.test(`Clip's mask formulations agree exactly, strictly inside (min, max) like torch (opset ${opset})`, async () => {
    const spec: GradientSpec = {
      input: { name: "x", layout: "NCHW", channels: 1, height: 2, width: 4, scale: "unit", mean: [0], std: [1] },
      output: { name: "y", kind: "logits" },
    };
    const grads: number[][] = [];
    for (const clipMask of ["where", "cast", "sign"] as const) {
      const derived = deriveGradientModel(clipModel(opset), spec, { loss: "ce", formulations: { clipMask } });
      // Label 1: the logits are far apart, so ∂loss/∂y = softmax − one-hot is ±1 there (0 at label 0).
      const { grad } = await runGradientModel(derived.bytes, CLIP_PIXELS, [1, 1, 2, 4], [1]);
      // −0 and 0 are the same gradient.
      grads.push(Array.from(grad, (v) => v + 0));
      assert.deepEqual(Array.from(grad, (v) => v !== 0), CLIP_INSIDE, clipMask);
    }
    assert.deepEqual(grads[1], grads[0], "cast");
    assert.deepEqual(grads[2], grads[0], "sign");
  });
}
