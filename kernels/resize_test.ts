import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type BatchShape,
  drawResizePad,
  type ImageShape,
  padZero,
  padZeroAdjoint,
  resizeBilinear,
  resizeNearest,
  resizeNearestAdjoint,
  resizePadAdjoint,
  resizePadForward,
  type ResizePadTransform,
} from "./resize.ts";
import { createRng } from "./rng.ts";

interface Case {
  shape: ImageShape;
  outH: number;
  outW: number;
  img: number[];
  bilinear: number[];
  nearest: number[];
}
interface PadCase {
  shape: BatchShape;
  t: ResizePadTransform;
  img: number[];
  grad: number[];
  forward: number[];
  adjoint: number[];
}
const fixture: { cases: Case[]; resizePad: PadCase[] } = JSON.parse(
  Deno.readTextFileSync(new URL("../tests/fixtures/kernels/resize.json", import.meta.url)),
);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Float32 scatter-adds round each partial sum; 1e-6 per term bounds that comfortably. */
function assertSameDot(lhs: number, rhs: number, terms: number): void {
  assert.ok(Math.abs(lhs - rhs) <= 1e-6 * (1 + terms), `${lhs} vs ${rhs}`);
}

const randomArray = (rng: () => number, len: number) => Float32Array.from({ length: len }, () => rng() - 0.5);

Deno.test("resizeBilinear matches torch antialiased bilinear (shrink, enlarge, mixed, big shrink)", () => {
  for (const { shape, outH, outW, img, bilinear } of fixture.cases) {
    const got = resizeBilinear(Float32Array.from(img), shape, outH, outW);
    const d = maxAbsDiff(got, bilinear);
    // torch computes weights and sums in float32.
    assert.ok(d < 2e-6, `${shape.height}×${shape.width}→${outH}×${outW}: ${d}`);
  }
});

Deno.test("resizeBilinear at the same size returns an exact copy, not the same buffer", () => {
  const c = fixture.cases.find((k) => k.shape.height === k.outH && k.shape.width === k.outW)!;
  const img = Float32Array.from(c.img);
  const got = resizeBilinear(img, c.shape, c.outH, c.outW);
  assert.notEqual(got, img);
  assert.deepEqual(got, img);
  assert.deepEqual(Array.from(got), c.bilinear);
});

Deno.test("resizeNearest matches torch mode=nearest", () => {
  for (const { shape, outH, outW, img, nearest } of fixture.cases) {
    assert.deepEqual(Array.from(resizeNearest(Float32Array.from(img), shape, outH, outW)), nearest);
  }
});

Deno.test("resizeNearestAdjoint and padZeroAdjoint are adjoints: ⟨Ax, y⟩ = ⟨x, Aᵀy⟩", () => {
  fc.assert(fc.property(
    fc.record({
      c: fc.integer({ min: 1, max: 3 }),
      h: fc.integer({ min: 1, max: 12 }),
      w: fc.integer({ min: 1, max: 12 }),
      oh: fc.integer({ min: 1, max: 12 }),
      ow: fc.integer({ min: 1, max: 12 }),
      seed: fc.integer(),
    }),
    ({ c, h, w, oh, ow, seed }) => {
      const rng = createRng(seed);
      const shape = { channels: c, height: h, width: w };
      const x = randomArray(rng.next, c * h * w);
      const y = randomArray(rng.next, c * oh * ow);
      const lhs = dot(resizeNearest(x, shape, oh, ow), y);
      assertSameDot(lhs, dot(x, resizeNearestAdjoint(y, shape, oh, ow)), y.length);
      const ch = h + oh, cw = w + ow;
      const top = Math.floor(rng.next() * (oh + 1)), left = Math.floor(rng.next() * (ow + 1));
      const z = randomArray(rng.next, c * ch * cw);
      const lhs2 = dot(padZero(x, shape, ch, cw, top, left), z);
      assertSameDot(lhs2, dot(x, padZeroAdjoint(z, shape, ch, cw, top, left)), x.length);
    },
  ));
});

Deno.test("padZero places the image and leaves zeros elsewhere", () => {
  const img = Float32Array.of(1, 2, 3, 4); // 1 channel, 2×2
  const got = padZero(img, { channels: 1, height: 2, width: 2 }, 3, 4, 1, 2);
  assert.deepEqual(Array.from(got), [0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4]);
  assert.throws(() => padZero(img, { channels: 1, height: 2, width: 2 }, 3, 4, 2, 0), RangeError);
});

Deno.test("resizePadForward / resizePadAdjoint match torch (interpolate∘pad∘interpolate, autograd)", () => {
  for (const { shape, t, img, grad, forward, adjoint } of fixture.resizePad) {
    assert.deepEqual(Array.from(resizePadForward(Float32Array.from(img), shape, t)), forward);
    const got = resizePadAdjoint(Float32Array.from(grad), shape, t);
    assert.ok(maxAbsDiff(got, adjoint) < 1e-5, JSON.stringify(t));
  }
});

Deno.test("resizePadForward equals the explicit resize → pad → resize chain, and is adjoint", () => {
  fc.assert(fc.property(
    fc.record({
      n: fc.integer({ min: 1, max: 2 }),
      c: fc.integer({ min: 1, max: 3 }),
      h: fc.integer({ min: 2, max: 14 }),
      w: fc.integer({ min: 2, max: 14 }),
      size: fc.integer({ min: 1, max: 16 }),
      extra: fc.integer({ min: 0, max: 5 }),
      seed: fc.integer(),
    }),
    ({ n, c, h, w, size, extra, seed }) => {
      const rng = createRng(seed);
      const canvas = size + extra;
      const t = drawResizePad(rng.next, { minSize: size, maxSize: size + 1, canvas });
      const shape = { n, channels: c, height: h, width: w };
      const x = randomArray(rng.next, n * c * h * w);
      const planes = { channels: n * c, height: h, width: w };
      const resized = resizeNearest(x, planes, size, size);
      const padded = padZero(resized, { ...planes, height: size, width: size }, canvas, canvas, t.top, t.left);
      const chain = resizeNearest(padded, { ...planes, height: canvas, width: canvas }, h, w);
      const fwd = resizePadForward(x, shape, t);
      assert.deepEqual(fwd, chain);
      const y = randomArray(rng.next, x.length);
      assertSameDot(dot(fwd, y), dot(x, resizePadAdjoint(y, shape, t)), y.length);
    },
  ));
});

Deno.test("drawResizePad draws size, then top, then left, offsets in [0, canvas − size) as Xie's code", () => {
  const us = [0.999, 0.0, 0.5, 0.0, 0.999, 0.999];
  let i = 0;
  const t = drawResizePad(() => us[i++], { minSize: 299, maxSize: 331, canvas: 331 });
  assert.deepEqual(t, { size: 330, top: 0, left: 0, canvas: 331 });
  const u = drawResizePad(() => us[i++], { minSize: 299, maxSize: 331, canvas: 331 });
  assert.deepEqual(u, { size: 299, top: 31, left: 31, canvas: 331 });
  const rng = createRng(5);
  const counts = new Map<string, number>();
  const draws = 6000;
  for (let k = 0; k < draws; k++) {
    const d = drawResizePad(rng.next, { minSize: 3, maxSize: 5, canvas: 5 });
    assert.ok(d.top + d.size <= 5 && d.left + d.size <= 5);
    const key = `${d.size}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  // size ∈ {3, 4} each with probability 1/2; sd of a count ≈ 39, allow ±5 sd.
  assert.deepEqual([...counts.keys()].sort(), ["3", "4"]);
  for (const v of counts.values()) assert.ok(Math.abs(v - draws / 2) < 200, `${v}`);
  assert.throws(() => drawResizePad(rng.next, { minSize: 5, maxSize: 5, canvas: 9 }), RangeError);
});

Deno.test("resizeBilinear keeps constant images constant (weights sum to 1) and stays within range", () => {
  fc.assert(fc.property(
    fc.record({
      h: fc.integer({ min: 1, max: 40 }),
      w: fc.integer({ min: 1, max: 40 }),
      oh: fc.integer({ min: 1, max: 40 }),
      ow: fc.integer({ min: 1, max: 40 }),
      v: fc.float({ min: 0, max: 1, noNaN: true }),
      seed: fc.integer(),
    }),
    ({ h, w, oh, ow, v, seed }) => {
      const shape = { channels: 2, height: h, width: w };
      const flat = resizeBilinear(new Float32Array(2 * h * w).fill(v), shape, oh, ow);
      assert.ok(flat.every((u) => Math.abs(u - v) < 1e-6));
      const rng = createRng(seed);
      const img = Float32Array.from({ length: 2 * h * w }, () => rng.next());
      const out = resizeBilinear(img, shape, oh, ow);
      // Triangle weights are non-negative, so outputs are convex combinations of inputs.
      assert.ok(out.every((u) => u >= 0 && u <= 1));
    },
  ));
});
