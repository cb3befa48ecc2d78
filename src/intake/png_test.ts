import assert from "node:assert/strict";
import { RequestError } from "../errors.ts";
import { decodeImage } from "./decode.ts";
import { inflatedSize, readPngHeader, validatePng } from "./png.ts";
import {
  type Chunk,
  chunkBytes,
  concat,
  greyPng,
  greyScanlines,
  idat,
  iend,
  ihdr,
  PNG_SIGNATURE,
  pngBytes,
  pngChunks,
} from "./testdata/craft.ts";

async function assertUndecodable(bytes: Uint8Array, message: RegExp, maxPixels = 1e6): Promise<void> {
  await assert.rejects(
    () => decodeImage(bytes, maxPixels),
    (e) => e instanceof RequestError && e.status === 422 && e.code === "undecodable_image" && message.test(e.message),
  );
}

Deno.test("png: a hand-built PNG decodes to exactly its samples, interlaced or not, in one IDAT or several", async () => {
  const value = (x: number, y: number) => (x * 7 + y * 13) % 256;
  for (const options of [{}, { interlace: true }, { idats: 4 }, { interlace: true, idats: 3 }]) {
    const image = await decodeImage(greyPng(13, 11, { ...options, value }), 1e6);
    assert.equal(image.width, 13);
    assert.equal(image.height, 11);
    for (let i = 0; i < 13 * 11; i++) assert.equal(image.rgba[4 * i], value(i % 13, Math.floor(i / 13)));
  }
});

Deno.test("png: inflatedSize counts one filter byte per row and, interlaced, per row of each Adam7 pass", () => {
  assert.equal(inflatedSize({ width: 10, height: 3, bitDepth: 8, colorType: 0, interlaced: false }), 3 * 11);
  assert.equal(inflatedSize({ width: 10, height: 3, bitDepth: 16, colorType: 6, interlaced: false }), 3 * 81);
  assert.equal(inflatedSize({ width: 9, height: 1, bitDepth: 1, colorType: 0, interlaced: false }), 1 + 2);
  // 1×1 interlaced: only pass 1 holds a pixel.
  assert.equal(inflatedSize({ width: 1, height: 1, bitDepth: 8, colorType: 0, interlaced: true }), 2);
  assert.equal(inflatedSize({ width: 13, height: 11, bitDepth: 8, colorType: 0, interlaced: true }), 13 * 11 + 22);
});

Deno.test("png: a second IHDR (the 98-byte image past the pixel limit) is rejected, whichever comes first", async () => {
  const tiny = pngBytes([ihdr(1, 1), ihdr(60_000, 60_000), idat(greyScanlines(1, 1, () => 0)), iend]);
  assert.ok(tiny.length < 100);
  await assertUndecodable(tiny, /more than one IHDR/);
  // The big one first: the header check refuses it before anything else.
  const big = pngBytes([ihdr(60_000, 60_000), ihdr(1, 1), idat(greyScanlines(1, 1, () => 0)), iend]);
  await assert.rejects(() => decodeImage(big, 1e6), (e) => e instanceof RequestError && e.code === "image_too_large");
});

Deno.test("png: IHDR must be the first chunk and must be valid", async () => {
  const text: Chunk = { type: "tEXt", data: new TextEncoder().encode("a\0b") };
  const pixels = idat(greyScanlines(2, 2, () => 9));
  await assertUndecodable(pngBytes([text, ihdr(2, 2), pixels, iend]), /first chunk is not a 13-byte IHDR/);
  await assertUndecodable(pngBytes([ihdr(0, 2), pixels, iend]), /out of range/);
  await assertUndecodable(pngBytes([ihdr(2, 2, { colorType: 2, bitDepth: 4 }), pixels, iend]), /not allowed/);
  await assertUndecodable(
    pngBytes([ihdr(2, 2, { interlace: 2 }), pixels, iend]),
    /unknown compression, filter or interlace/,
  );
});

Deno.test("png: missing, short, excess or non-consecutive image data is 422, never blank rows", async () => {
  await assertUndecodable(pngBytes([ihdr(10, 10), iend]), /no IDAT/);
  await assertUndecodable(
    pngBytes([ihdr(10, 10), idat(greyScanlines(10, 5, () => 1)), iend]),
    /inflates to 55 bytes; its IHDR needs 110/,
  );
  await assertUndecodable(
    pngBytes([ihdr(10, 10), idat(greyScanlines(10, 11, () => 1)), iend]),
    /inflates past the 110 bytes/,
  );
  const [head, data, end] = pngChunks(greyPng(10, 10, { idats: 1 }));
  const half = data.data.length >> 1;
  const split = [{ type: "IDAT", data: data.data.subarray(0, half) }, { type: "IDAT", data: data.data.subarray(half) }];
  const text: Chunk = { type: "tEXt", data: new TextEncoder().encode("a\0b") };
  assert.equal((await decodeImage(pngBytes([head, ...split, end]), 1e6)).width, 10);
  await assertUndecodable(pngBytes([head, split[0], text, split[1], end]), /not consecutive/);
  await assertUndecodable(pngBytes([head, split[0], end]), /not a valid zlib stream/);
});

Deno.test("png: every truncation of a valid PNG is rejected", async () => {
  const bytes = greyPng(20, 20, { idats: 3 });
  for (let n = 8; n < bytes.length; n++) {
    await assert.rejects(
      () => decodeImage(bytes.subarray(0, n), 1e6),
      (e) => e instanceof RequestError && e.status === 422,
    );
  }
});

Deno.test("png: a bad CRC or a corrupt zlib stream is 422", async () => {
  const [head, data, end] = pngChunks(greyPng(10, 10));
  const withBadCrc = concat([PNG_SIGNATURE, chunkBytes(head), chunkBytes(data, 0x12345678), chunkBytes(end)]);
  await assertUndecodable(withBadCrc, /bad CRC/);
  const garbled = data.data.slice();
  garbled[0] = 0x00; // not a zlib header
  await assertUndecodable(pngBytes([head, { type: "IDAT", data: garbled }, end]), /not a valid zlib stream/);
});

Deno.test("png: a compression bomb stops at the IHDR's bound, interlaced or not, before it is all inflated", async () => {
  // 50 MB of zeros compressed to ~49 KB; the IHDR allows 1 MB.
  for (const interlace of [0, 1]) {
    const bomb = pngBytes([ihdr(1000, 1000, { interlace }), idat(new Uint8Array(50_000_000)), iend]);
    await assertUndecodable(bomb, /inflates past the 100\d{4} bytes its IHDR allows/, 40e6);
    // Over the pixel limit it is refused from the header alone: 413, not the 422 inflating would give.
    await assert.rejects(() => decodeImage(bomb, 999_999), (e) => e instanceof RequestError && e.status === 413);
  }
});

Deno.test("png: a palette image needs its PLTE before the data, with no more entries than the depth allows", async () => {
  const pixels = idat(greyScanlines(2, 2, () => 0));
  const plte = (entries: number): Chunk => ({ type: "PLTE", data: new Uint8Array(3 * entries).fill(200) });
  const palette = { colorType: 3, bitDepth: 8 };
  assert.equal((await decodeImage(pngBytes([ihdr(2, 2, palette), plte(1), pixels, iend]), 1e6)).rgba[0], 200);
  await assertUndecodable(pngBytes([ihdr(2, 2, palette), pixels, iend]), /without a PLTE/);
  await assertUndecodable(pngBytes([ihdr(2, 2, palette), pixels, plte(1), iend]), /without a PLTE/);
  await assertUndecodable(pngBytes([ihdr(2, 2, palette), plte(1), plte(1), pixels, iend]), /PLTE repeated or after/);
  await assertUndecodable(
    pngBytes([ihdr(2, 2, { colorType: 3, bitDepth: 1 }), plte(3), pixels, iend]),
    /bad PLTE length/,
  );
});

Deno.test("png: readPngHeader reads only the first chunk; validatePng agrees with it on a valid file", () => {
  const bytes = greyPng(7, 5, { interlace: true });
  assert.deepEqual(readPngHeader(bytes), validatePng(bytes));
  assert.deepEqual(readPngHeader(bytes), { width: 7, height: 5, bitDepth: 8, colorType: 0, interlaced: true });
});
