import { Buffer } from "node:buffer";
import { imageSize } from "image-size";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { RequestError } from "../errors.ts";

/** A decoded image: straight (non-premultiplied) RGBA in [0,1], row-major HWC. */
export interface DecodedImage {
  format: "png" | "jpeg";
  width: number;
  height: number;
  /** Bits per sample in the file (1, 2, 4, 8 or 16). */
  bitDepth: number;
  rgba: Float32Array;
}

/**
 * Decodes PNG (1–16 bit, grey/RGB/palette, with or without alpha, via pngjs) and baseline or
 * progressive JPEG (via jpeg-js). The pixel count is read from the header first and checked
 * against `maxPixels` before any decoding. 16-bit samples keep their precision (v / 65535).
 */
export function decodeImage(bytes: Uint8Array, maxPixels: number): DecodedImage {
  const format = sniff(bytes);
  let size: { width?: number; height?: number };
  try {
    size = imageSize(bytes);
  } catch {
    throw new RequestError(422, "undecodable_image", `the ${format.toUpperCase()} header could not be read`);
  }
  const width = size.width ?? 0;
  const height = size.height ?? 0;
  if (width < 1 || height < 1) throw new RequestError(422, "undecodable_image", "the image has no pixels");
  if (width * height > maxPixels) {
    throw new RequestError(
      413,
      "image_too_large",
      `the image is ${width}×${height} = ${width * height} pixels; the limit is ${maxPixels}`,
    );
  }
  try {
    return format === "png" ? decodePng(bytes) : decodeJpeg(bytes, maxPixels);
  } catch (error) {
    if (error instanceof RequestError) throw error;
    throw new RequestError(
      422,
      "undecodable_image",
      `the ${format.toUpperCase()} data is corrupt: ${(error as Error).message}`,
    );
  }
}

function sniff(bytes: Uint8Array): "png" | "jpeg" {
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && png.every((b, i) => bytes[i] === b)) return "png";
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
  throw new RequestError(415, "unsupported_image_format", "the body is not a PNG or JPEG image");
}

function decodePng(bytes: Uint8Array): DecodedImage {
  // skipRescale keeps 16-bit samples as they are; pngjs expands grey/palette/RGB to RGBA.
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), { skipRescale: true });
  const depth = png.colorType === 3 ? 8 : png.depth;
  const max = 2 ** depth - 1;
  const data = png.data as unknown as ArrayLike<number>;
  const rgba = new Float32Array(png.width * png.height * 4);
  for (let i = 0; i < rgba.length; i++) rgba[i] = data[i] / max;
  return { format: "png", width: png.width, height: png.height, bitDepth: png.depth, rgba };
}

function decodeJpeg(bytes: Uint8Array, maxPixels: number): DecodedImage {
  const decoded = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: true,
    maxResolutionInMP: maxPixels / 1e6,
    maxMemoryUsageInMB: 2048,
  });
  const rgba = new Float32Array(decoded.data.length);
  for (let i = 0; i < rgba.length; i++) rgba[i] = decoded.data[i] / 255;
  return { format: "jpeg", width: decoded.width, height: decoded.height, bitDepth: 8, rgba };
}
