import { Buffer } from "node:buffer";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { RequestError } from "../errors.ts";
import { isJpeg, readJpegHeader, validateJpeg } from "./jpeg.ts";
import { orient } from "./orient.ts";
import { isPng, readPngHeader, validatePng } from "./png.ts";
import { decodeWebpRgba, isWebp, readWebpHeader, validateWebp } from "./webp.ts";

export type ImageFormat = "png" | "jpeg" | "webp";

/** A decoded image: straight (non-premultiplied) RGBA samples, row-major HWC, each in [0, maxValue]. */
export interface DecodedImage {
  format: ImageFormat;
  width: number;
  height: number;
  /** Bits per sample in the file (1, 2, 4, 8 or 16). */
  bitDepth: number;
  /** The sample value meaning full intensity (2^bitDepth − 1; 255 for palette images, JPEG and WebP). */
  maxValue: number;
  rgba: Uint8Array | Uint16Array;
}

/** Format and size as the header states them, read without decoding. */
export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
}

/**
 * Sniffs the format and reads the size from the header (PNG: the IHDR that must come first; JPEG: the
 * SOF before the first scan; WebP: the first chunk). Cheap: it walks headers only, so limits can be checked before decoding;
 * {@link decodeImage} then verifies that this is the only header the decoder will use.
 */
export function readImageHeader(bytes: Uint8Array): ImageHeader {
  if (isPng(bytes)) return { format: "png", ...pick(readPngHeader(bytes)) };
  if (isJpeg(bytes)) return { format: "jpeg", ...pick(readJpegHeader(bytes)) };
  if (isWebp(bytes)) return { format: "webp", ...pick(readWebpHeader(bytes)) };
  throw new RequestError(415, "unsupported_image_format", "the body is not a PNG, JPEG or WebP image");
}

const pick = ({ width, height }: { width: number; height: number }) => ({ width, height });

export function checkPixelLimit(header: { width: number; height: number }, maxPixels: number): void {
  const { width, height } = header;
  if (width * height > maxPixels) {
    throw new RequestError(
      413,
      "image_too_large",
      `the image is ${width}×${height} = ${width * height} pixels; the limit is ${maxPixels}`,
    );
  }
}

/**
 * Decodes PNG (1–16 bit, grey/RGB/palette, with or without alpha, interlaced or not; via pngjs) and
 * baseline or progressive JPEG (via jpeg-js, strict mode, EXIF orientation applied) and still WebP
 * (lossy or lossless, via libwebp in WASM). The pixel count is read from the header and checked against
 * `maxPixels` first; then the whole file is validated (see validatePng / validateJpeg / validateWebp) so
 * the decoder can neither use another header nor fill missing data
 * with blank rows; finally the decoded size must equal the checked one. Anything invalid is 422
 * `undecodable_image`.
 */
export async function decodeImage(bytes: Uint8Array, maxPixels: number): Promise<DecodedImage> {
  const header = readImageHeader(bytes);
  checkPixelLimit(header, maxPixels);
  try {
    if (header.format === "webp") return await decodeWebp(bytes);
    return header.format === "png" ? decodePng(bytes) : decodeJpeg(bytes, maxPixels);
  } catch (error) {
    if (error instanceof RequestError) throw error;
    throw new RequestError(
      422,
      "undecodable_image",
      `the ${header.format.toUpperCase()} data is corrupt: ${(error as Error).message}`,
    );
  }
}

function decodePng(bytes: Uint8Array): DecodedImage {
  const header = validatePng(bytes);
  // skipRescale keeps 16-bit and low-bit samples as they are; pngjs expands grey/palette/RGB to RGBA.
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), { skipRescale: true });
  checkDecodedSize(png, header);
  const data = png.data as unknown as Uint8Array | Uint16Array;
  const rgba = data instanceof Uint16Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.length);
  const maxValue = header.colorType === 3 ? 255 : 2 ** header.bitDepth - 1;
  return { format: "png", width: png.width, height: png.height, bitDepth: header.bitDepth, maxValue, rgba };
}

function decodeJpeg(bytes: Uint8Array, maxPixels: number): DecodedImage {
  const header = validateJpeg(bytes);
  const decoded = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: true,
    // Strict: a scan that runs out of data throws instead of leaving its blocks blank.
    tolerantDecoding: false,
    maxResolutionInMP: maxPixels / 1e6,
    maxMemoryUsageInMB: 2048,
  });
  checkDecodedSize(decoded, header);
  const image = { width: decoded.width, height: decoded.height, rgba: decoded.data as Uint8Array };
  return { format: "jpeg", bitDepth: 8, maxValue: 255, ...orient(image, header.orientation) };
}

async function decodeWebp(bytes: Uint8Array): Promise<DecodedImage> {
  const header = validateWebp(bytes);
  const decoded = await decodeWebpRgba(bytes);
  checkDecodedSize(decoded, header);
  return { format: "webp", bitDepth: 8, maxValue: 255, ...decoded };
}

function checkDecodedSize(decoded: { width: number; height: number }, header: { width: number; height: number }) {
  if (decoded.width !== header.width || decoded.height !== header.height) {
    throw new Error(
      `the decoder produced ${decoded.width}×${decoded.height}, the header says ${header.width}×${header.height}`,
    );
  }
}
