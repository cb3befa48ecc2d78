import assert from "node:assert/strict";
import jpeg from "jpeg-js";
import { PNG, type PNGOptions } from "pngjs";
import { RequestError } from "../errors.ts";
import { decodeImage } from "./decode.ts";
import { toModelPixels } from "./to_pixels.ts";

function encodePng(width: number, height: number, data: ArrayLike<number>, options: PNGOptions): Uint8Array {
  const png = new PNG({ width, height, ...options });
  (png as unknown as { data: ArrayLike<number> }).data = data;
  return new Uint8Array(PNG.sync.write(png, options));
}

Deno.test("decode: 8-bit grey PNG passes through exactly as v/255 at the model size", async () => {
  const grey = Uint8Array.from({ length: 4 * 2 * 3 }, (_, i) => (i % 4 === 3 ? 255 : Math.floor(i / 4) * 40));
  const bytes = encodePng(3, 2, grey, { colorType: 0, inputColorType: 6 });
  const image = await decodeImage(bytes, 1e6);
  assert.equal(image.bitDepth, 8);
  const { pixels, resized } = toModelPixels(image, { channels: 1, height: 2, width: 3 });
  assert.equal(resized, false);
  assert.deepEqual(Array.from(pixels), [0, 40, 80, 120, 160, 200].map((v) => Math.fround(v / 255)));
});

Deno.test("decode: 16-bit PNG keeps 16-bit precision", async () => {
  const values = [0, 1, 32768, 65535];
  const data = new Uint16Array(values.flatMap((v) => [v, v, v, 65535]));
  const bytes = encodePng(2, 2, data, { bitDepth: 16, colorType: 6, inputColorType: 6, inputHasAlpha: true });
  const image = await decodeImage(bytes, 1e6);
  assert.equal(image.bitDepth, 16);
  const { pixels } = toModelPixels(image, { channels: 1, height: 2, width: 2 });
  assert.deepEqual(Array.from(pixels), values.map((v) => Math.fround(v / 65535)));
});

Deno.test("decode: alpha is composited on white; RGB → grey uses BT.601 luma; grey → RGB replicates", async () => {
  // pixel 0: red, half transparent; pixel 1: opaque (10, 20, 30); pixel 2: fully transparent black
  const rgba = Uint8Array.from([255, 0, 0, 128, 10, 20, 30, 255, 0, 0, 0, 0]);
  const image = await decodeImage(encodePng(3, 1, rgba, { colorType: 6, inputColorType: 6 }), 1e6);
  const rgb = toModelPixels(image, { channels: 3, height: 1, width: 3 }).pixels;
  const a = 128 / 255;
  assert.ok(Math.abs(rgb[0] - 1) < 1e-6);
  assert.ok(Math.abs(rgb[3] - (1 - a)) < 1e-6); // green plane, pixel 0
  assert.ok(Math.abs(rgb[1] - 10 / 255) < 1e-6);
  assert.equal(rgb[2], 1);
  const grey = toModelPixels(image, { channels: 1, height: 1, width: 3 }).pixels;
  assert.ok(Math.abs(grey[1] - (0.299 * 10 + 0.587 * 20 + 0.114 * 30) / 255) < 1e-6);
  const greyImage = await decodeImage(encodePng(1, 1, [77, 77, 77, 255], { colorType: 0, inputColorType: 6 }), 1e6);
  assert.deepEqual(
    Array.from(toModelPixels(greyImage, { channels: 3, height: 1, width: 1 }).pixels),
    [77, 77, 77].map((v) => Math.fround(v / 255)),
  );
});

Deno.test("decode: JPEG decodes; other sizes are resized", async () => {
  const width = 16, height = 8;
  const data = new Uint8Array(width * height * 4).fill(200);
  const bytes = new Uint8Array(jpeg.encode({ data, width, height }, 95).data);
  const image = await decodeImage(bytes, 1e6);
  assert.equal(image.format, "jpeg");
  assert.equal(image.width, 16);
  const { pixels, resized } = toModelPixels(image, { channels: 1, height: 4, width: 4 });
  assert.equal(resized, true);
  assert.equal(pixels.length, 16);
  for (const v of pixels) assert.ok(Math.abs(v - 200 / 255) < 3 / 255);
});

Deno.test("decode: the pixel limit is enforced from the header, before decoding", async () => {
  const bytes = encodePng(100, 100, new Uint8Array(100 * 100 * 4), { colorType: 6, inputColorType: 6 });
  await assert.rejects(() => decodeImage(bytes, 9999), (e) => e instanceof RequestError && e.status === 413);
  // A header claiming a huge image with no data behind it is rejected without allocating it.
  const lying = bytes.slice();
  new DataView(lying.buffer).setUint32(16, 100_000);
  await assert.rejects(() => decodeImage(lying, 1e6), (e) => e instanceof RequestError && e.code === "image_too_large");
});
