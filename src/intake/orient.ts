/** An RGBA image, row-major HWC, 4 samples per pixel. */
export interface RgbaImage<T extends Uint8Array | Uint16Array> {
  width: number;
  height: number;
  rgba: T;
}

/**
 * Applies an EXIF orientation (1–8) so the result is upright, as PIL's `ImageOps.exif_transpose` does:
 * 2 mirror, 3 rotate 180°, 4 flip, 5 transpose, 6 rotate 90° clockwise, 7 transverse, 8 rotate 90°
 * counter-clockwise. Orientations 5–8 swap width and height. 1 (or anything else) returns the input.
 */
export function orient<T extends Uint8Array | Uint16Array>(image: RgbaImage<T>, orientation: number): RgbaImage<T> {
  if (!(orientation >= 2 && orientation <= 8)) return image;
  const { width: w, height: h, rgba } = image;
  const swap = orientation >= 5;
  const width = swap ? h : w, height = swap ? w : h;
  // Source (x, y) of output pixel (i, j), per orientation.
  const source: Record<number, (i: number, j: number) => number> = {
    2: (i, j) => j * w + (w - 1 - i),
    3: (i, j) => (h - 1 - j) * w + (w - 1 - i),
    4: (i, j) => (h - 1 - j) * w + i,
    5: (i, j) => i * w + j,
    6: (i, j) => (h - 1 - i) * w + j,
    7: (i, j) => (h - 1 - i) * w + (w - 1 - j),
    8: (i, j) => i * w + (w - 1 - j),
  };
  const from = source[orientation];
  const out = new (rgba.constructor as new (n: number) => T)(rgba.length);
  for (let j = 0; j < height; j++) {
    for (let i = 0; i < width; i++) {
      const s = 4 * from(i, j), d = 4 * (j * width + i);
      out[d] = rgba[s], out[d + 1] = rgba[s + 1], out[d + 2] = rgba[s + 2], out[d + 3] = rgba[s + 3];
    }
  }
  return { width, height, rgba: out };
}
