import assert from "node:assert/strict";
import fc from "fast-check";
import { fromModelInput, type PreprocessSpec, toModelInput } from "./preprocess.ts";

interface Case {
  spec: PreprocessSpec;
  n: number;
  pixels: number[];
  expected: number[];
}
const { cases }: { cases: Case[] } = JSON.parse(
  Deno.readTextFileSync(new URL("../tests/fixtures/kernels/preprocess.json", import.meta.url)),
);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("toModelInput matches numpy for byte/unit scale and NCHW/NHWC layouts", () => {
  assert.equal(cases.length, 4);
  for (const { spec, n, pixels, expected } of cases) {
    const got = toModelInput(Float32Array.from(pixels), { n, spec });
    // float32 rounding of values up to ~2.7 in magnitude.
    assert.ok(maxAbsDiff(got, expected) < 1e-6, `${spec.scale} ${spec.layout}`);
  }
});

Deno.test("fromModelInput inverts the fixtures back to the pixels", () => {
  for (const { spec, n, pixels, expected } of cases) {
    const got = fromModelInput(Float32Array.from(expected), { n, spec });
    assert.ok(maxAbsDiff(got, pixels) < 1e-6, `${spec.scale} ${spec.layout}`);
  }
});

Deno.test("round trip through both layouts, writing into out buffers", () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 3 }),
    fc.constantFrom(1, 3),
    fc.integer({ min: 1, max: 5 }),
    fc.integer({ min: 1, max: 5 }),
    fc.constantFrom<PreprocessSpec["layout"]>("NCHW", "NHWC"),
    fc.constantFrom<PreprocessSpec["scale"]>("unit", "byte"),
    fc.integer({ min: 0, max: 1000 }),
    (n, c, h, w, layout, scale, salt) => {
      const spec: PreprocessSpec = {
        layout,
        channels: c as 1 | 3,
        height: h,
        width: w,
        scale,
        mean: Array.from({ length: c }, (_, i) => 0.1 * (i + salt % 7)),
        std: Array.from({ length: c }, (_, i) => 0.2 + 0.1 * i),
      };
      const size = n * c * h * w;
      const px = Float32Array.from({ length: size }, (_, i) => ((i * 37 + salt) % 101) / 100);
      const out = new Float32Array(size);
      const model = toModelInput(px, { n, spec, out });
      assert.equal(model, out);
      const back = fromModelInput(model, { n, spec });
      assert.ok(maxAbsDiff(back, px) < 1e-5);
    },
  ));
});

Deno.test("NHWC puts channels innermost", () => {
  const spec: PreprocessSpec = {
    layout: "NHWC",
    channels: 3,
    height: 1,
    width: 2,
    scale: "unit",
    mean: [0, 0, 0],
    std: [1, 1, 1],
  };
  // NCHW planes: c0 = [a, b], c1 = [c, d], c2 = [e, f] → NHWC [a c e b d f].
  const got = toModelInput(Float32Array.of(0.1, 0.2, 0.3, 0.4, 0.5, 0.6), { n: 1, spec });
  assert.deepEqual(Array.from(got), Array.from(Float32Array.of(0.1, 0.3, 0.5, 0.2, 0.4, 0.6)));
  assert.throws(() => toModelInput(new Float32Array(5), { n: 1, spec }), RangeError);
});
