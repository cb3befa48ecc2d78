import assert from "node:assert/strict";
import { RequestError } from "../errors.ts";
import { decodeImage } from "./decode.ts";
import { readJpegHeader } from "./jpeg.ts";
import { concat, exifOrientationPayload, gradientJpeg, insertJpegSegment, jpegSegments } from "./testdata/craft.ts";

async function assertUndecodable(bytes: Uint8Array, message: RegExp): Promise<void> {
  await assert.rejects(
    () => decodeImage(bytes, 1e6),
    (e) => e instanceof RequestError && e.status === 422 && e.code === "undecodable_image" && message.test(e.message),
  );
}

Deno.test("jpeg: every truncation of a valid JPEG is rejected, with or without an EOI appended", async () => {
  const bytes = gradientJpeg(64, 48);
  assert.equal((await decodeImage(bytes, 1e6)).width, 64);
  for (let n = 3; n < bytes.length; n++) {
    const cut = bytes.subarray(0, n);
    await assert.rejects(
      () => decodeImage(cut, 1e6),
      (e) => e instanceof RequestError && e.status === 422,
      `cut at ${n}`,
    );
  }
  const whole = (await decodeImage(bytes, 1e6)).rgba;
  const sos = jpegSegments(bytes).find((s) => s.marker === 0xda)!;
  let rejected = 0;
  for (let n = sos.end + 1; n < bytes.length - 2; n++) {
    // Cut inside the scan and closed with an EOI: the strict decoder meets the marker before the last block.
    // Only a cut in the final padding bits may still decode, and then to the very same pixels.
    try {
      assert.deepEqual((await decodeImage(concat([bytes.subarray(0, n), Uint8Array.of(0xff, 0xd9)]), 1e6)).rgba, whole);
    } catch (error) {
      if (error instanceof assert.AssertionError) throw error;
      assert.ok(error instanceof RequestError && error.code === "undecodable_image");
      rejected++;
    }
  }
  assert.ok(rejected >= bytes.length - sos.end - 8, `${rejected} of ${bytes.length - sos.end} cuts rejected`);
});

Deno.test("jpeg: a missing EOI, a second SOF or data before the SOF is 422", async () => {
  const bytes = gradientJpeg(32, 16);
  await assertUndecodable(bytes.subarray(0, bytes.length - 2), /no EOI/);
  const segments = jpegSegments(bytes);
  const sof = segments.find((s) => s.marker === 0xc0)!;
  const sos = segments.find((s) => s.marker === 0xda)!;
  // A second SOF claiming another size, just before the scan.
  const other = bytes.slice(sof.at + 4, sof.end);
  new DataView(other.buffer).setUint16(1, 4000);
  await assertUndecodable(insertJpegSegment(bytes, sos.at, 0xc0, other), /more than one SOF/);
  // The scan moved before the frame header.
  const scanFirst = concat([
    bytes.subarray(0, sof.at),
    bytes.subarray(sos.at),
  ]);
  await assertUndecodable(scanFirst, /no SOF segment before the image data/);
});

Deno.test("jpeg: the pixel limit is read from the SOF before decoding; unsupported codings are named", async () => {
  const bytes = gradientJpeg(32, 16);
  assert.deepEqual(readJpegHeader(bytes), { width: 32, height: 16, components: 3, orientation: 1 });
  await assert.rejects(() => decodeImage(bytes, 500), (e) => e instanceof RequestError && e.code === "image_too_large");
  const sof = jpegSegments(bytes).find((s) => s.marker === 0xc0)!;
  const arithmetic = bytes.slice();
  arithmetic[sof.at + 1] = 0xc9;
  await assertUndecodable(arithmetic, /coding 0xFFc9 is not supported/);
});

Deno.test("jpeg: EXIF orientation 6 turns a 32×16 JPEG into an upright 16×32 image", async () => {
  const bytes = gradientJpeg(32, 16);
  const plain = await decodeImage(bytes, 1e6);
  const rotated = await decodeImage(insertJpegSegment(bytes, 2, 0xe1, exifOrientationPayload(6)), 1e6);
  assert.deepEqual([rotated.width, rotated.height], [16, 32]);
  // Rotated 90° clockwise: output (x, y) is source (y, h − 1 − x).
  for (const [x, y] of [[0, 0], [15, 0], [3, 31], [15, 31]]) {
    const source = 4 * ((16 - 1 - x) * 32 + y);
    assert.deepEqual(rotated.rgba.slice(4 * (y * 16 + x), 4 * (y * 16 + x) + 4), plain.rgba.slice(source, source + 4));
  }
});
