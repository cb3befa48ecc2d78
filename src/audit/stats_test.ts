import assert from "node:assert/strict";
import fc from "fast-check";
import { auc, histogram, quantile, roc, trapezoidArea, wilson } from "./stats.ts";

const close = (a: number | null, b: number, tol = 5e-5) =>
  assert.ok(a !== null && Math.abs(a - b) < tol, `${a} vs ${b}`);

Deno.test("wilson: known 95% intervals", () => {
  // Reference values: statsmodels proportion_confint(method="wilson").
  const cases: [number, number, number, number][] = [
    [81, 263, 0.2553, 0.3662],
    [0, 10, 0, 0.2775],
    [10, 10, 0.7225, 1],
    [5, 10, 0.2366, 0.7634],
    [1, 1, 0.2065, 1],
  ];
  for (const [k, n, low, high] of cases) {
    const w = wilson(k, n);
    close(w.low, low);
    close(w.high, high);
    assert.equal(w.rate, k / n);
  }
  assert.deepEqual(wilson(0, 0), { count: 0, total: 0, rate: null, low: null, high: null });
});

Deno.test("wilson: the interval contains the rate and stays in [0, 1]", () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 5000 }), fc.double({ min: 0, max: 1, noNaN: true }), (n, f) => {
    const k = Math.floor(f * n);
    const w = wilson(k, n);
    assert.ok(w.low! >= 0 && w.high! <= 1 && w.low! <= w.rate! && w.rate! <= w.high!);
  }));
});

Deno.test("auc equals a brute-force pair count and the ROC trapezoid, ties counted half", () => {
  const scores = fc.array(fc.integer({ min: 0, max: 8 }).map((v) => v / 4), { minLength: 1, maxLength: 40 });
  fc.assert(fc.property(scores, scores, (pos, neg) => {
    let pairs = 0;
    for (const p of pos) for (const q of neg) pairs += p > q ? 1 : p === q ? 0.5 : 0;
    const brute = pairs / (pos.length * neg.length);
    assert.ok(Math.abs(auc(pos, neg)! - brute) < 1e-12);
    const points = roc(pos, neg);
    assert.deepEqual(points.at(-1), { threshold: Math.min(...pos, ...neg), fpr: 1, tpr: 1 });
    assert.ok(Math.abs(trapezoidArea(points) - brute) < 1e-12);
  }));
  assert.equal(auc([1, 2], [0]), 1);
  assert.equal(auc([0], [1, 2]), 0);
  assert.equal(auc([], [1]), null);
});

Deno.test("quantile (nearest rank) and histogram", () => {
  const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(quantile(sorted, 0.5), 5);
  assert.equal(quantile(sorted, 0.9), 9);
  assert.equal(quantile(sorted, 0.95), 10);
  assert.equal(quantile(sorted, 0), 1);
  assert.equal(quantile([], 0.5), null);
  const h = histogram([0, 0.05, 0.1, 0.49, 0.5, 0.7], 0, 0.5, 5);
  assert.deepEqual(h.map((b) => b.count), [2, 1, 0, 0, 2]);
  assert.equal(h[4].high, 0.5);
});
