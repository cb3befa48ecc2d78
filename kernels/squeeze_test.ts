import assert from "node:assert/strict";
import fc from "fast-check";
import type { ImageShape } from "./resize.ts";
import { bitDepth, median, nonLocalMeans } from "./squeeze.ts";

interface MedianCase {
  shape: ImageShape;
  img: number[];
  median: Record<string, number[]>;
}
interface NlmCase {
  shape: ImageShape;
  search: number;
  patch: number;
  h: number;
  img: number[];
  cv2: number[];
  reference: number[];
}
const fixture: {
  bitDepth: { x: number[]; out: Record<string, number[]> };
  median: MedianCase[];
  nlm: NlmCase[];
} = JSON.parse(Deno.readTextFileSync(new URL("../tests/fixtures/kernels/squeeze.json", import.meta.url)));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("bitDepth equals numpy float32 rint(x·m)/m for 1..8 bits, including exact ties", () => {
  const x = Float32Array.from(fixture.bitDepth.x);
  for (let bits = 1; bits <= 8; bits++) {
    assert.deepEqual(Array.from(bitDepth(x, bits)), fixture.bitDepth.out[String(bits)], `${bits} bits`);
  }
  // Half to even: 1 bit 0.5·1 = 0.5 → 0; 2 bits 0.5·3 = 1.5 → 2.
  assert.deepEqual(Array.from(bitDepth(Float32Array.of(0.5), 1)), [0]);
  assert.deepEqual(Array.from(bitDepth(Float32Array.of(0.5), 2)), [Math.fround(2 / 3)]);
  assert.throws(() => bitDepth(x, 0), RangeError);
});

Deno.test("bitDepth is idempotent and lands on the 2^b grid", () => {
  fc.assert(fc.property(
    fc.array(fc.float({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 40 }),
    fc.integer({ min: 1, max: 8 }),
    (vals, bits) => {
      const once = bitDepth(Float32Array.from(vals), bits);
      assert.deepEqual(bitDepth(once, bits), once);
      const m = 2 ** bits - 1;
      for (const v of once) assert.ok(Math.abs(v * m - Math.round(v * m)) < 1e-5);
    },
  ));
});

Deno.test("median equals scipy.ndimage.median_filter(mode=reflect) for k = 2, 3, 4, 5", () => {
  for (const { shape, img, median: expected } of fixture.median) {
    for (const k of [2, 3, 4, 5]) {
      assert.deepEqual(Array.from(median(Float32Array.from(img), shape, k)), expected[String(k)], `k=${k}`);
    }
  }
});

Deno.test("median is the identity for k = 1 and idempotent on constant images", () => {
  fc.assert(fc.property(
    fc.array(fc.float({ min: 0, max: 1, noNaN: true }), { minLength: 12, maxLength: 12 }),
    fc.integer({ min: 2, max: 5 }),
    (vals, k) => {
      const shape = { channels: 1, height: 3, width: 4 };
      const x = Float32Array.from(vals);
      assert.deepEqual(median(x, shape, 1), x);
      const flat = new Float32Array(12).fill(x[0]);
      assert.deepEqual(median(flat, shape, k), flat);
    },
  ));
});

Deno.test("nonLocalMeans equals a direct numpy implementation of the documented formula", () => {
  for (const { shape, search, patch, h, img, reference } of fixture.nlm) {
    const got = nonLocalMeans(Float32Array.from(img), { n: 1, ...shape }, { search, patch, h });
    const d = maxAbsDiff(got, reference);
    assert.ok(d < 1e-6, `${shape.channels}×${shape.height}×${shape.width} ${search}-${patch}-${h}: ${d}`);
  }
});

Deno.test("nonLocalMeans agrees with cv2.fastNlMeansDenoising to within one grey level", () => {
  for (const { shape, search, patch, h, img, cv2 } of fixture.nlm) {
    const x = Float32Array.from(img);
    const got = nonLocalMeans(x, { n: 1, ...shape }, { search, patch, h });
    const d = maxAbsDiff(got, cv2) * 255;
    assert.ok(d <= 1, `${search}-${patch}-${h}: ${d} grey levels`);
    // The filter must actually do something on these noisy images for the comparison to matter.
    if (h >= 4) assert.ok(maxAbsDiff(got, x) * 255 > 1);
  }
});

Deno.test("nonLocalMeans batches images independently and keeps constant images", () => {
  const { shape, search, patch, h, img } = fixture.nlm.find((k) => k.shape.channels === 3)!;
  const one = Float32Array.from(img);
  const flat = new Float32Array(one.length).fill(0.3);
  const both = new Float32Array(2 * one.length);
  both.set(flat);
  both.set(one, one.length);
  const got = nonLocalMeans(both, { n: 2, ...shape }, { search, patch, h });
  assert.ok(maxAbsDiff(got.subarray(0, one.length), flat) < 1e-7);
  assert.deepEqual(got.subarray(one.length), nonLocalMeans(one, { n: 1, ...shape }, { search, patch, h }));
  assert.throws(() => nonLocalMeans(one, { n: 1, ...shape }, { search: 4, patch, h }), RangeError);
});

/** The documented median definition, by sorting each window (scipy reflect borders). */
function medianBySorting(x: Float32Array, shape: ImageShape, k: number): Float32Array {
  const { channels: c, height: h, width: w } = shape;
  const reflect = (i: number, n: number) => {
    const m = ((i % (2 * n)) + 2 * n) % (2 * n);
    return m < n ? m : 2 * n - 1 - m;
  };
  const out = new Float32Array(x.length);
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const win: number[] = [];
        for (let a = 0; a < k; a++) {
          for (let b = 0; b < k; b++) {
            win.push(x[(ch * h + reflect(i - Math.floor(k / 2) + a, h)) * w + reflect(j - Math.floor(k / 2) + b, w)]);
          }
        }
        out[(ch * h + i) * w + j] = win.sort((p, q) => p - q)[Math.floor((k * k) / 2)];
      }
    }
  }
  return out;
}

Deno.test("median's 2×2 and 3×3 comparison networks equal sorting each window", () => {
  fc.assert(fc.property(
    fc.record({
      channels: fc.integer({ min: 1, max: 3 }),
      height: fc.integer({ min: 1, max: 7 }),
      width: fc.integer({ min: 1, max: 7 }),
    }),
    fc.constantFrom(2, 3),
    fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    (shape, k, seed) => {
      // Few distinct values: many ties inside windows.
      const x = Float32Array.from(
        { length: shape.channels * shape.height * shape.width },
        (_, i) => ((seed + i * 2654435761) >>> 0) % 5 / 4,
      );
      assert.deepEqual(median(x, shape, k), medianBySorting(x, shape, k));
    },
  ));
});

/** The documented non-local-means formula, directly (every offset, every patch element). */
function nonLocalMeansDirect(x: Float32Array, shape: ImageShape, search: number, patch: number, h: number) {
  const { channels: c, height: hh, width: w } = shape;
  const r101 = (i: number, n: number) => {
    if (n === 1) return 0;
    const m = ((i % (2 * n - 2)) + 2 * n - 2) % (2 * n - 2);
    return m < n ? m : 2 * n - 2 - m;
  };
  const v = (ch: number, i: number, j: number) => 255 * x[(ch * hh + r101(i, hh)) * w + r101(j, w)];
  const sh = (search - 1) / 2, ph = (patch - 1) / 2;
  const out = new Float32Array(x.length);
  for (let i = 0; i < hh; i++) {
    for (let j = 0; j < w; j++) {
      let wsum = 0;
      const acc = new Array(c).fill(0);
      for (let di = -sh; di <= sh; di++) {
        for (let dj = -sh; dj <= sh; dj++) {
          let ssd = 0;
          for (let ch = 0; ch < c; ch++) {
            for (let a = -ph; a <= ph; a++) {
              for (let b = -ph; b <= ph; b++) ssd += (v(ch, i + a, j + b) - v(ch, i + di + a, j + dj + b)) ** 2;
            }
          }
          const wt = Math.exp(-ssd / (patch * patch * c * h * h));
          if (wt < 0.001) continue;
          wsum += wt;
          for (let ch = 0; ch < c; ch++) acc[ch] += wt * v(ch, i + di, j + dj);
        }
      }
      for (let ch = 0; ch < c; ch++) out[(ch * hh + i) * w + j] = acc[ch] / wsum / 255;
    }
  }
  return out;
}

Deno.test("nonLocalMeans with patches of 5 and 7 (running sums) equals the direct formula", () => {
  const { shape, img } = fixture.nlm.find((k) => k.shape.channels === 3 && k.shape.height === 9)!;
  const x = Float32Array.from(img);
  for (const [search, patch, h] of [[5, 5, 10], [7, 7, 20], [5, 1, 10]]) {
    const got = nonLocalMeans(x, { n: 1, ...shape }, { search, patch, h });
    const d = maxAbsDiff(got, nonLocalMeansDirect(x, shape, search, patch, h));
    assert.ok(d < 1e-6, `${search}-${patch}-${h}: ${d}`);
    assert.ok(maxAbsDiff(got, x) * 255 > 1, `${search}-${patch}-${h} changes the image`);
  }
});
