import assert from "node:assert/strict";
import { orient } from "./orient.ts";

Deno.test("orient: each EXIF orientation moves pixels as PIL's exif_transpose does", () => {
  // 3×2 image whose pixel i holds i in every channel:  0 1 2 / 3 4 5
  const image = { width: 3, height: 2, rgba: Uint8Array.from({ length: 24 }, (_, i) => Math.floor(i / 4)) };
  const expected: Record<number, [number, number, number[]]> = {
    1: [3, 2, [0, 1, 2, 3, 4, 5]],
    2: [3, 2, [2, 1, 0, 5, 4, 3]], // mirror
    3: [3, 2, [5, 4, 3, 2, 1, 0]], // rotate 180°
    4: [3, 2, [3, 4, 5, 0, 1, 2]], // flip
    5: [2, 3, [0, 3, 1, 4, 2, 5]], // transpose
    6: [2, 3, [3, 0, 4, 1, 5, 2]], // rotate 90° clockwise
    7: [2, 3, [5, 2, 4, 1, 3, 0]], // transverse
    8: [2, 3, [2, 5, 1, 4, 0, 3]], // rotate 90° counter-clockwise
  };
  for (const [orientation, [width, height, pixels]] of Object.entries(expected)) {
    const out = orient(image, Number(orientation));
    assert.deepEqual([out.width, out.height], [width, height], `orientation ${orientation}`);
    assert.deepEqual(Array.from(out.rgba.filter((_, i) => i % 4 === 0)), pixels, `orientation ${orientation}`);
  }
  const deep = orient({ width: 1, height: 2, rgba: new Uint16Array([1, 2, 3, 65535, 4, 5, 6, 65535]) }, 3);
  assert.ok(deep.rgba instanceof Uint16Array);
  assert.deepEqual(Array.from(deep.rgba), [4, 5, 6, 65535, 1, 2, 3, 65535]);
});
