import assert from "node:assert/strict";
import fc from "fast-check";
import { argmax, logitsFromProbabilities, logSoftmax, softmax, topK } from "./softmax.ts";

const f = JSON.parse(
  Deno.readTextFileSync(new URL("../tests/fixtures/kernels/softmax.json", import.meta.url)),
);
const shape = { rows: f.rows as number, cols: f.cols as number };
const logits = Float32Array.from(f.logits as number[]);

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol = 0) {
  assert.equal(got.length, want.length);
  for (let i = 0; i < got.length; i++) {
    const tol = atol + rtol * Math.abs(want[i]);
    assert.ok(Math.abs(got[i] - want[i]) <= tol, `[${i}] ${got[i]} vs ${want[i]}`);
  }
}

Deno.test("softmax and logSoftmax match torch (float64), including ±1000 offsets", () => {
  assertClose(softmax(logits, shape), f.softmax, 1e-7, 1e-6);
  assertClose(logSoftmax(logits, shape), f.logSoftmax, 1e-6, 1e-6);
});

Deno.test("logitsFromProbabilities is log(max(p, 1e-30))", () => {
  const got = logitsFromProbabilities(Float32Array.from(f.probabilities as number[]));
  assertClose(got, f.logitsFromProbabilities, 1e-6, 1e-6);
  assert.ok(Math.abs(got[4 * shape.cols + 3] - Math.log(1e-30)) < 1e-4);
});

Deno.test("argmax matches numpy, ties to the lowest index", () => {
  assert.deepEqual(Array.from(argmax(logits, shape)), f.argmax);
  assert.equal(f.argmax[3], 2);
});

Deno.test("topK is the stable descending sort of each row, truncated", () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 4 }),
    fc.integer({ min: 1, max: 9 }),
    fc.integer({ min: 0, max: 11 }),
    fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 36, maxLength: 36 }),
    (rows, cols, k, pool) => {
      const z = Float32Array.from({ length: rows * cols }, (_, i) => pool[i] / 2);
      const { indices, values } = topK(z, { rows, cols, k });
      const kk = Math.min(k, cols);
      for (let r = 0; r < rows; r++) {
        const order = Array.from({ length: cols }, (_, j) => j)
          .sort((a, b) => z[r * cols + b] - z[r * cols + a] || a - b)
          .slice(0, kk);
        assert.deepEqual(Array.from(indices.subarray(r * kk, (r + 1) * kk)), order);
        assert.deepEqual(
          Array.from(values.subarray(r * kk, (r + 1) * kk)),
          order.map((j) => z[r * cols + j]),
        );
      }
    },
  ));
});

Deno.test("softmax rows sum to 1 and agree with exp(logSoftmax)", () => {
  fc.assert(fc.property(
    fc.array(fc.float({ min: -80, max: 80, noNaN: true }), { minLength: 1, maxLength: 12 }),
    (row) => {
      const z = Float32Array.from(row);
      const s = { rows: 1, cols: z.length };
      const p = softmax(z, s);
      const lp = logSoftmax(z, s);
      assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-5);
      for (let j = 0; j < z.length; j++) assert.ok(Math.abs(Math.exp(lp[j]) - p[j]) < 1e-6);
    },
  ));
});
