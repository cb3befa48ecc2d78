import assert from "node:assert/strict";
import * as ort from "onnxruntime-web";
import { deriveGradientModel } from "./derive.ts";
import { loadFixture, runGradientModel } from "./testing.ts";
import { unrollLinfSteps } from "./unroll.ts";

Deno.test("unrolled L∞ steps equal a loop of gradient runs with the same step and clipping", async () => {
  // fashion-rgb-like exporters leave node names empty: tf_like_nhwc has unnamed nodes.
  const f = loadFixture("tf_like_nhwc");
  const { channels: c, height: h, width: w } = f.spec.input;
  const dims = [f.batch, c, h, w];
  const gradient = deriveGradientModel(f.bytes, f.spec, { loss: "ce" }).bytes;
  const steps = 3;
  // Row 0 ascends with α = 0.02, row 1 descends (targeted) with α = 0.01; ε = 0.05 around pixels.
  const alpha = Float32Array.of(0.02, -0.01);
  const per = c * h * w;
  const lower = f.pixels.map((v) => Math.max(0, v - 0.05));
  const upper = f.pixels.map((v) => Math.min(1, v + 0.05));
  let x = f.pixels.slice();
  const loopIterates: Float32Array[] = [], loopLogits: Float32Array[] = [];
  for (let t = 0; t < steps; t++) {
    const out = await runGradientModel(gradient, x, dims, f.labels);
    loopLogits.push(out.logits);
    x = x.map((v, i) =>
      Math.min(upper[i], Math.max(lower[i], Math.fround(v + alpha[Math.floor(i / per)] * Math.sign(out.grad[i]))))
    );
    loopIterates.push(x);
  }
  const session = await ort.InferenceSession.create(unrollLinfSteps(gradient, steps));
  try {
    const out = await session.run({
      pixels: new ort.Tensor("float32", f.pixels, dims),
      labels: new ort.Tensor("int64", BigInt64Array.from(f.labels.map(BigInt)), [f.batch]),
      alpha: new ort.Tensor("float32", alpha, [f.batch, 1, 1, 1]),
      lower: new ort.Tensor("float32", lower, dims),
      upper: new ort.Tensor("float32", upper, dims),
    });
    for (let t = 0; t < steps; t++) {
      assert.deepEqual(out[`x_${t + 1}`].data, loopIterates[t], `iterate ${t + 1}`);
      assert.deepEqual(out[`logits_${t}`].data, loopLogits[t], `logits at iterate ${t}`);
    }
    // The steps moved the image (the comparison is not between copies of the start).
    assert.notDeepEqual(loopIterates[steps - 1], f.pixels);
  } finally {
    await session.release();
  }
  assert.throws(() => unrollLinfSteps(gradient, 0), RangeError);
});
