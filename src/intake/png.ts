import { Unzlib } from "fflate";
import { crc32 } from "node:zlib";
import { RequestError } from "../errors.ts";

/** What the one IHDR of a PNG says. */
export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlaced: boolean;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Samples per pixel by colour type (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA). */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Bit depths the PNG specification allows for each colour type. */
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
/** Adam7 passes: x start, y start, x step, y step. */
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
/**
 * Compressed bytes handed to the inflater at a time: deflate expands at most ~1032×, so one push overshoots the
 * bound by ≤ ~17 MB. Smaller slices cost more per byte (1 KiB: ~5× slower on 36 MB of image data).
 */
const INFLATE_SLICE = 16 * 1024;

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

function corrupt(message: string): RequestError {
  return new RequestError(422, "undecodable_image", `the PNG is invalid: ${message}`);
}

/** Reads the IHDR that must be the first chunk, without walking the rest (cheap: for limits before decoding). */
export function readPngHeader(bytes: Uint8Array): PngHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8 + 8 + 13 + 4) throw corrupt("too short to hold an IHDR chunk");
  if (view.getUint32(8) !== 13 || chunkType(bytes, 12) !== "IHDR") {
    throw corrupt("the first chunk is not a 13-byte IHDR");
  }
  const header: PngHeader = {
    width: view.getUint32(16),
    height: view.getUint32(20),
    bitDepth: bytes[24],
    colorType: bytes[25],
    interlaced: bytes[28] === 1,
  };
  if (header.width < 1 || header.height < 1 || header.width > 2 ** 31 - 1 || header.height > 2 ** 31 - 1) {
    throw corrupt(`IHDR size ${header.width}×${header.height} is out of range`);
  }
  if (!DEPTHS[header.colorType]?.includes(header.bitDepth)) {
    throw corrupt(`colour type ${header.colorType} with bit depth ${header.bitDepth} is not allowed`);
  }
  if (bytes[26] !== 0 || bytes[27] !== 0 || bytes[28] > 1) {
    throw corrupt("IHDR names an unknown compression, filter or interlace method");
  }
  return header;
}

/** Bytes the image data must inflate to: per row (per Adam7 pass when interlaced) one filter byte + packed samples. */
export function inflatedSize(header: PngHeader): number {
  const bitsPerPixel = CHANNELS[header.colorType] * header.bitDepth;
  const rowBytes = (width: number) => 1 + Math.ceil((width * bitsPerPixel) / 8);
  if (!header.interlaced) return header.height * rowBytes(header.width);
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    const w = Math.ceil((header.width - x0) / dx);
    const h = Math.ceil((header.height - y0) / dy);
    if (w > 0 && h > 0) total += h * rowBytes(w);
  }
  return total;
}

/**
 * Checks a whole PNG before any decoder sees it, so that the decoder decodes exactly what the limits
 * were checked against: one IHDR and it is first, a PLTE before the data for palette images, the IDAT
 * chunks consecutive, IEND last, every chunk complete with a correct CRC, and the image data inflating
 * to exactly {@link inflatedSize} bytes — inflated in small slices and stopped as soon as it passes that
 * bound, so a compression bomb costs at most the bound, and short data is an error, never blank rows.
 * The inflated bytes are counted, not kept. Check the pixel limit on {@link readPngHeader} first.
 */
export function validatePng(bytes: Uint8Array): PngHeader {
  const header = readPngHeader(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const expected = inflatedSize(header);
  let inflated = 0;
  const inflater = new Unzlib((chunk) => {
    inflated += chunk.length;
    if (inflated > expected) throw corrupt(`the image data inflates past the ${expected} bytes its IHDR allows`);
  });
  let offset = 8;
  let seenPalette = false;
  let idat: "before" | "in" | "after" = "before";
  let ended = false;
  while (offset < bytes.length && !ended) {
    if (offset + 12 > bytes.length) throw corrupt(`chunk header at byte ${offset} is cut short`);
    const length = view.getUint32(offset);
    const type = chunkType(bytes, offset + 4);
    const dataStart = offset + 8;
    const dataEnd = dataStart + length;
    if (length > 2 ** 31 - 1 || dataEnd + 4 > bytes.length) {
      throw corrupt(`chunk ${type} at byte ${offset} is cut short`);
    }
    const crc = crc32(bytes.subarray(offset + 4, dataEnd)) >>> 0;
    if (crc !== view.getUint32(dataEnd)) throw corrupt(`chunk ${type} at byte ${offset} has a bad CRC`);
    if (type === "IHDR" && offset !== 8) throw corrupt("more than one IHDR chunk");
    if (type === "PLTE") {
      if (seenPalette || idat !== "before") throw corrupt("PLTE repeated or after the image data");
      if (length === 0 || length % 3 !== 0 || length / 3 > 2 ** header.bitDepth) throw corrupt("bad PLTE length");
      seenPalette = true;
    }
    if (type === "IDAT") {
      if (idat === "after") throw corrupt("IDAT chunks are not consecutive");
      if (header.colorType === 3 && !seenPalette) throw corrupt("palette image without a PLTE before its data");
      idat = "in";
      for (let at = dataStart; at < dataEnd; at += INFLATE_SLICE) {
        pushInflate(inflater, bytes.subarray(at, Math.min(at + INFLATE_SLICE, dataEnd)), false);
      }
    } else if (idat === "in") {
      idat = "after";
    }
    if (type === "IEND") ended = true;
    offset = dataEnd + 4;
  }
  if (!ended) throw corrupt("no IEND chunk: the file is cut short");
  if (idat === "before") throw corrupt("no IDAT chunk: the image has no data");
  pushInflate(inflater, new Uint8Array(0), true);
  if (inflated !== expected) throw corrupt(`the image data inflates to ${inflated} bytes; its IHDR needs ${expected}`);
  return header;
}

function pushInflate(inflater: Unzlib, chunk: Uint8Array, final: boolean): void {
  try {
    inflater.push(chunk, final);
  } catch (error) {
    if (error instanceof RequestError) throw error;
    throw corrupt(`the image data is not a valid zlib stream (${(error as Error).message})`);
  }
}

function chunkType(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
}
