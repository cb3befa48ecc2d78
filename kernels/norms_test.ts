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
  signStepProjected,
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

/** The textbook formulas the branch-free kernels must reproduce bit for bit. */
const reference = {
  clip01: (v: number) => v < 0 ? 0 : v > 1 ? 1 : v,
  signStep: (g: Float32Array, alpha: number) => g.map((v) => v > 0 ? alpha : v < 0 ? -alpha : 0),
  projectLinf: (x: Float32Array, x0: Float32Array, eps: number) =>
    x.map((v, i) => {
      const d = v - x0[i];
      return reference.clip01(x0[i] + (d > eps ? eps : d < -eps ? -eps : d));
    }),
};

/** Each value's bits, every NaN as one (a NaN's sign and payload are not observable in a report). */
const bits = (a: Float32Array) =>
  [...new Uint32Array(a.buffer, a.byteOffset, a.length)].map((b, i) => Number.isNaN(a[i]) ? 0x7fc00000 : b);

Deno.test("signStep, projectLinf and signStepProjected equal the textbook formulas bit for bit, at ±0 and NaN", () => {
  const pixel = fc.oneof(
    fc.float({ min: 0, max: 1, noNaN: true }),
    fc.constantFrom(0, -0, 1, Math.fround(1 - 2 ** -24)),
  );
  const moved = fc.oneof(fc.float({ min: -1, max: 2 }), fc.constantFrom(0, -0, NaN));
  const gradient = fc.oneof(fc.float(), fc.constantFrom(0, -0, NaN, 1e-45, -1e-45, Infinity, -Infinity));
  const arb = fc.integer({ min: 1, max: 40 }).chain((n) =>
    fc.record({
      x0: fc.array(pixel, { minLength: n, maxLength: n }),
      x: fc.array(moved, { minLength: n, maxLength: n }),
      g: fc.array(gradient, { minLength: n, maxLength: n }),
      eps: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 1 / 255, 8 / 255, 1)),
      sign: fc.constantFrom(1, -1),
    })
  );
  fc.assert(
    fc.property(arb, ({ x0: xs, x: ms, g: gs, eps, sign }) => {
      const x0 = Float32Array.from(xs);
      const x = Float32Array.from(ms);
      const g = Float32Array.from(gs);
      const alpha = sign * eps;
      // The one difference allowed: a step of ±0 may have either sign (x + ±0 = x for every pixel x ≥ +0).
      const unsigned = (a: Float32Array) => bits(a.map((v) => v === 0 ? 0 : v));
      assert.deepEqual(unsigned(signStep(g, { alpha })), unsigned(reference.signStep(g, alpha)));
      assert.deepEqual(bits(projectLinf(x, x0, { eps })), bits(reference.projectLinf(x, x0, eps)));
      // FGSM's row as the engine builds it: the step, the float32 sum, the projection.
      const stepped = reference.signStep(g, alpha).map((s, i) => x0[i] + s);
      const want = reference.projectLinf(stepped, x0, eps);
      assert.deepEqual(bits(signStepProjected(x0, g, { alpha, eps })), bits(want));
    }),
    { numRuns: 500 },
  );
  const out = new Float32Array(3);
  const x0 = Float32Array.of(0.5, 0, 1);
  assert.equal(signStepProjected(x0, Float32Array.of(1, -1, 1), { alpha: 0.1, eps: 0.1, out }), out);
  assert.deepEqual([...out], [Math.fround(0.6), 0, 1]);
  assert.throws(() => signStepProjected(x0, new Float32Array(2), { alpha: 0.1, eps: 0.1 }), RangeError);
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
