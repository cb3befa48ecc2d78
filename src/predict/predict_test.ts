import assert from "node:assert/strict";
import { softmax } from "../../kernels/softmax.ts";
import { rankPrediction } from "./predict.ts";

Deno.test("the prediction is the argmax of the logits even where float32 softmax rounds them to one probability", () => {
  // A random-weight network's logits: all within 1e-8, so every float32 probability is the same 1/3.
  const logits = Float32Array.of(1.4e-9, 4.1e-9, -1.1e-9);
  const p = softmax(logits, { rows: 1, cols: 3 });
  assert.ok(p[0] === p[1] && p[1] === p[2], "the probabilities tie here");
  const prediction = rankPrediction(logits, ["a", "b", "c"], 3);
  assert.equal(prediction.index, 1);
  assert.deepEqual(prediction.topK.map((r) => r.index), [1, 0, 2]);
  assert.equal(prediction.confidence, p[1]);
});

Deno.test("tied logits rank the lower class index first", () => {
  const prediction = rankPrediction(Float32Array.of(0.5, 2, 2, -1), ["a", "b", "c", "d"], 4);
  assert.deepEqual(prediction.topK.map((r) => r.index), [1, 2, 0, 3]);
});
