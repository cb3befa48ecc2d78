import assert from "node:assert/strict";
import fc from "fast-check";
import {
  boundaryStartL2,
  boundaryStartLinf,
  cosineSimilarity,
  l2Norm,
  l2Step,
  linfNorm,
  projectL2,
  projectLinf,
  randomStartL2,
  randomStartLinf,
  signStep,
} from "./norms.ts";
import { createRng } from "./rng.ts";

const f = JSON.parse(Deno.readTextFileSync(new URL("../tests/fixtures/kernels/norms.json", import.meta.url)));
const rowSize: number = f.rowSize;
const x = Float32Array.from(f.x as number[]);
const x0 = Float32Array.from(f.x0 as number[]);
const g = Float32Array.from(f.g as number[]);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function sub(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((v, i) => v - b[i]);
}

Deno.test("norms, projections and steps match numpy (Foolbox formulas)", () => {
  assert.ok(maxAbsDiff(linfNorm(x, { rowSize }), f.linf) < 1e-12);
  assert.ok(maxAbsDiff(l2Norm(x, { rowSize }), f.l2) < 1e-12);
  assert.ok(maxAbsDiff(projectLinf(x, x0, { eps: f.eps }), f.projectLinf) < 1e-7);
  assert.ok(maxAbsDiff(projectL2(x, x0, { eps: f.eps, rowSize }), f.projectL2) < 1e-7);
  assert.deepEqual(Array.from(signStep(g, { alpha: f.alpha })), f.signStep);
  assert.ok(maxAbsDiff(l2Step(g, { alpha: f.alpha, rowSize }), f.l2Step) < 1e-8);
  // Row 2 of g is all zeros: zero step, not NaN.
  assert.ok(l2Step(g, { alpha: f.alpha, rowSize }).subarray(2 * rowSize, 3 * rowSize).every((v) => v === 0));
});

const arbBatch = fc.record({
  rows: fc.integer({ min: 1, max: 4 }),
  rowSize: fc.integer({ min: 1, max: 20 }),
  eps: fc.double({ min: 0, max: 0.5, noNaN: true }),
  seed: fc.integer(),
});

function batch(rows: number, size: number, seed: number) {
  const rng = createRng(seed);
  const a = Float32Array.from({ length: rows * size }, () => rng.next());
  const b = Float32Array.from({ length: rows * size }, () => rng.next() * 1.6 - 0.3);
  return { x0: a, x: b };
}

Deno.test("projections land in the ball and in [0,1], and are idempotent", () => {
  fc.assert(fc.property(arbBatch, ({ rows, rowSize, eps, seed }) => {
    const { x0, x } = batch(rows, rowSize, seed);
    const pl = projectLinf(x, x0, { eps });
    const p2 = projectL2(x, x0, { eps, rowSize });
    for (const p of [pl, p2]) assert.ok(p.every((v) => v >= 0 && v <= 1));
    assert.ok(Math.max(...linfNorm(sub(pl, x0), { rowSize })) <= eps + 1e-6);
    assert.ok(Math.max(...l2Norm(sub(p2, x0), { rowSize })) <= eps + 1e-6);
    assert.ok(maxAbsDiff(projectLinf(pl, x0, { eps }), pl) <= 1e-7);
    assert.ok(maxAbsDiff(projectL2(p2, x0, { eps, rowSize }), p2) <= 1e-6);
  }));
});

Deno.test("projections write into out (aliasing x is allowed)", () => {
  const { x0, x } = batch(2, 5, 9);
  const want = projectL2(x, x0, { eps: 0.1, rowSize: 5 });
  const buf = x.slice();
  assert.equal(projectL2(buf, x0, { eps: 0.1, rowSize: 5, out: buf }), buf);
  assert.deepEqual(buf, want);
  assert.throws(() => projectLinf(x, x0.subarray(1), { eps: 0.1 }), RangeError);
});

Deno.test("l2Step has norm α per non-zero row; signStep has entries in {−α, 0, α}", () => {
  fc.assert(fc.property(arbBatch, ({ rows, rowSize, eps: alpha, seed }) => {
    const { x: grad } = batch(rows, rowSize, seed);
    const norms = l2Norm(l2Step(grad, { alpha, rowSize }), { rowSize });
    const gn = l2Norm(grad, { rowSize });
    norms.forEach((n, r) => assert.ok(Math.abs(n - (gn[r] > 0 ? alpha : 0)) < 1e-6));
    const s = signStep(grad, { alpha: 0.25 });
    grad.forEach((v, i) => assert.equal(s[i], v > 0 ? 0.25 : v < 0 ? -0.25 : 0));
  }));
});

Deno.test("random starts stay in their balls and in [0,1]; same seed, same start", () => {
  fc.assert(fc.property(arbBatch, ({ rows, rowSize, eps, seed }) => {
    const { x0 } = batch(rows, rowSize, seed);
    const sl = randomStartLinf(x0, { eps, rng: createRng(seed).next });
    const s2 = randomStartL2(x0, { eps, rowSize, rng: createRng(seed).next });
    for (const p of [sl, s2]) assert.ok(p.every((v) => v >= 0 && v <= 1));
    assert.ok(Math.max(...linfNorm(sub(sl, x0), { rowSize })) <= eps + 1e-6);
    assert.ok(Math.max(...l2Norm(sub(s2, x0), { rowSize })) <= eps + 1e-6);
    assert.deepEqual(randomStartL2(x0, { eps, rowSize, rng: createRng(seed).next }), s2);
  }));
});

Deno.test("random starts are uniform in volume: radius CDF (r/ε)^d, L∞ coordinates uniform", () => {
  // Interior x0 so that clipping never acts; d = 3 makes the radius law visible.
  const d = 3, rows = 4000, eps = 0.2;
  const x0 = new Float32Array(rows * d).fill(0.5);
  const rng = createRng(11).next;
  const r = l2Norm(sub(randomStartL2(x0, { eps, rowSize: d, rng }), x0), { rowSize: d });
  const inner = r.filter((v) => v < eps / 2).length / rows; // expected (1/2)^3 = 0.125
  assert.ok(Math.abs(inner - 0.125) < 0.03, `${inner}`);
  const l = sub(randomStartLinf(x0, { eps, rng }), x0);
  const positive = l.filter((v) => v > 0).length / l.length;
  const small = l.filter((v) => Math.abs(v) < eps / 2).length / l.length;
  assert.ok(Math.abs(positive - 0.5) < 0.03 && Math.abs(small - 0.5) < 0.03, `${positive} ${small}`);
});

Deno.test("cosineSimilarity: 1 for parallel, −1 for opposite, 0 for orthogonal or zero vectors", () => {
  assert.equal(cosineSimilarity([1, 2, 3], [2, 4, 6]), 1);
  assert.equal(cosineSimilarity([1, 2], [-1, -2]), -1);
  assert.equal(cosineSimilarity([1, 0], [0, 5]), 0);
  assert.equal(cosineSimilarity([0, 0], [1, 1]), 0);
  assert.ok(Math.abs(cosineSimilarity([1, 1], [1, 0]) - Math.SQRT1_2) < 1e-15);
});

Deno.test("boundary starts (AutoAttack) lie on the ε-sphere of their norm before clipping", () => {
  fc.assert(fc.property(arbBatch, ({ rows, rowSize, eps, seed }) => {
    // Interior x0 and a radius small enough that clipping never acts.
    const x0 = new Float32Array(rows * rowSize).fill(0.5);
    const e = Math.min(eps, 0.4);
    const sl = boundaryStartLinf(x0, { eps: e, rowSize, rng: createRng(seed).next });
    const s2 = boundaryStartL2(x0, { eps: e, rowSize, rng: createRng(seed).next });
    linfNorm(sub(sl, x0), { rowSize }).forEach((n) => assert.ok(Math.abs(n - e) <= 1e-7, `${n} vs ${e}`));
    // Each coordinate is rounded to float32 (≤ 2^-25 at 0.5), so ‖δ‖₂ is off by at most √d·2^-25.
    l2Norm(sub(s2, x0), { rowSize }).forEach((n) => assert.ok(Math.abs(n - e) <= Math.sqrt(rowSize) * 2 ** -24));
    assert.deepEqual(boundaryStartL2(x0, { eps: e, rowSize, rng: createRng(seed).next }), s2);
    // At the pixel bounds the start is clipped to [0,1].
    const edge = new Float32Array(rows * rowSize).fill(1);
    assert.ok(boundaryStartLinf(edge, { eps: e, rowSize, rng: createRng(seed).next }).every((v) => v <= 1));
  }));
});
