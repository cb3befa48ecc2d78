import assert from "node:assert/strict";
import { RequestError } from "../errors.ts";
import { decodeImage } from "./decode.ts";
import { readWebpHeader } from "./webp.ts";
import { concat } from "./testdata/craft.ts";
import { encodeWebp, pattern } from "./testdata/webp_encode.ts";

async function assertUndecodable(bytes: Uint8Array, message: RegExp): Promise<void> {
  await assert.rejects(
    () => decodeImage(bytes, 1e6),
    (e) => e instanceof RequestError && e.status === 422 && e.code === "undecodable_image" && message.test(e.message),
  );
}

/** A RIFF WEBP file holding these chunks (each already with its header). */
function riff(...chunks: Uint8Array[]): Uint8Array {
  const body = concat(chunks);
  const head = new Uint8Array(12);
  head.set(new TextEncoder().encode("RIFF"), 0);
  new DataView(head.buffer).setUint32(4, body.length + 4, true);
  head.set(new TextEncoder().encode("WEBP"), 8);
  return concat([head, body]);
}

function vp8x(width: number, height: number, flags = 0): Uint8Array {
  const chunk = new Uint8Array(18);
  chunk.set(new TextEncoder().encode("VP8X"), 0);
  new DataView(chunk.buffer).setUint32(4, 10, true);
  chunk[8] = flags;
  chunk.set([(width - 1) & 0xff, (width - 1) >> 8, 0, (height - 1) & 0xff, (height - 1) >> 8, 0], 12);
  return chunk;
}

Deno.test("webp: lossless decodes to exactly its pixels, lossy to nearly them; the header gives the size", async () => {
  const rgba = pattern(24, 10);
  const lossless = await encodeWebp(rgba, 24, 10, { lossless: true });
  assert.deepEqual(readWebpHeader(lossless), { width: 24, height: 10 });
  const image = await decodeImage(lossless, 1e6);
  assert.deepEqual([image.format, image.width, image.height, image.bitDepth, image.maxValue], ["webp", 24, 10, 8, 255]);
  assert.deepEqual(image.rgba, rgba);
  const flat = Uint8Array.from({ length: 24 * 10 * 4 }, (_, i) => (i % 4 === 3 ? 255 : 200));
  const lossy = await encodeWebp(flat, 24, 10);
  assert.deepEqual(readWebpHeader(lossy), { width: 24, height: 10 });
  const grey = await decodeImage(lossy, 1e6);
  for (let i = 0; i < grey.rgba.length; i++) assert.ok(Math.abs(grey.rgba[i] - flat[i]) <= 3, `sample ${i}`);
});

Deno.test("webp: every truncation of a lossy or lossless WebP is rejected", async () => {
  for (const lossless of [false, true]) {
    const bytes = await encodeWebp(pattern(20, 12), 20, 12, { lossless });
    for (let n = 12; n < bytes.length; n++) {
      await assert.rejects(
        () => decodeImage(bytes.subarray(0, n), 1e6),
        (e) => e instanceof RequestError && e.status === 422,
        `${lossless ? "lossless" : "lossy"} cut at ${n}`,
      );
    }
  }
});

Deno.test("webp: a second image chunk, an animation, or a canvas that disagrees with the frame is 422", async () => {
  const bytes = await encodeWebp(pattern(20, 12), 20, 12, { lossless: true });
  const image = bytes.subarray(12);
  await assertUndecodable(riff(image, image), /more than one "VP8L" chunk/);
  await assertUndecodable(riff(vp8x(20, 12, 0x02), image), /animated WebP is not supported/);
  await assertUndecodable(riff(vp8x(200, 12), image), /corrupt/);
  assert.equal((await decodeImage(riff(vp8x(20, 12), image), 1e6)).width, 20);
});

Deno.test("webp: the pixel limit is checked from the header before libwebp runs", async () => {
  const bytes = await encodeWebp(pattern(20, 12), 20, 12, { lossless: true });
  const huge = riff(vp8x(16384, 16384), bytes.subarray(12));
  await assert.rejects(() => decodeImage(huge, 1e6), (e) => e instanceof RequestError && e.code === "image_too_large");
});
