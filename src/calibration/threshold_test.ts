import assert from "node:assert/strict";
import fc from "fast-check";
import { thresholdForFpr } from "./threshold.ts";

Deno.test("thresholdForFpr: k = ⌈n·(1 − fpr)⌉ when n·(1 − fpr) is not an integer", () => {
  // n = 7, fpr = 0.1: n·(1 − fpr) = 6.3, so k = 7 (⌊·⌋ would give 6 and flag 1/7 > 0.1 of the clean set).
  const scores = [0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.6];
  assert.deepEqual(thresholdForFpr(scores, 0.1), { threshold: 0.9, fpr: 0 });
  // n = 10, fpr = 0.25: 7.5 → k = 8, threshold = sorted[7]; two of ten score above it.
  const ten = [0.05, 0.95, 0.15, 0.85, 0.25, 0.75, 0.35, 0.65, 0.45, 0.55];
  assert.deepEqual(thresholdForFpr(ten, 0.25), { threshold: 0.75, fpr: 0.2 });
  // Integral n·(1 − fpr) = 9: threshold = sorted[8], exactly n·fpr = 1 flagged.
  assert.deepEqual(thresholdForFpr(ten, 0.1), { threshold: 0.85, fpr: 0.1 });
});

Deno.test("thresholdForFpr: flags at most n·fpr clean scores, and the next lower score would flag more", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.double({ min: 0, max: 2, noNaN: true }), { minLength: 1, maxLength: 60 }),
      // Dyadic rates keep n·(1 − fpr) exact in float64, so the bound below is exact too.
      fc.integer({ min: 0, max: 63 }),
      (scores, m) => {
        const fpr = m / 64;
        const { threshold, fpr: achieved } = thresholdForFpr(scores, fpr);
        const n = scores.length;
        const above = scores.filter((s) => s > threshold).length;
        assert.equal(achieved, above / n);
        assert.ok(above <= n * fpr, `${above} of ${n} above at fpr ${fpr}`);
        assert.ok(scores.includes(threshold));
        const lower = scores.filter((s) => s < threshold);
        if (lower.length > 0) {
          const next = Math.max(...lower);
          assert.ok(scores.filter((s) => s > next).length > n * fpr, "a lower threshold would also satisfy fpr");
        }
      },
    ),
    { numRuns: 300, seed: 15 },
  );
});

Deno.test("thresholdForFpr: a decimal fpr allows exactly ⌊n·fpr⌋ flags, whatever 1 − fpr rounds to", () => {
  const twenty = Array.from({ length: 20 }, (_, i) => i / 20);
  // 1 − 0.95 is 0.050000000000000044 in float64: ⌈20·(1 − 0.95)⌉ = 2 would allow 18 of 20.
  assert.deepEqual(thresholdForFpr(twenty, 0.95), { threshold: 0, fpr: 0.95 });
  for (const [n, fpr] of [[20, 0.05], [100, 0.07], [1000, 0.001], [30, 0.3], [7, 0.1], [50, 0.02]]) {
    const scores = Array.from({ length: n }, (_, i) => (i * 37 % n) / n);
    const { fpr: achieved } = thresholdForFpr(scores, fpr);
    assert.equal(Math.round(achieved * n), Math.floor(n * fpr + 1e-9), `n = ${n}, fpr = ${fpr}`);
  }
});

Deno.test("thresholdForFpr: ties at the threshold are not flagged (strictly greater)", () => {
  assert.deepEqual(thresholdForFpr([0.2, 0.4, 0.4, 0.4], 0.5), { threshold: 0.4, fpr: 0 });
});
