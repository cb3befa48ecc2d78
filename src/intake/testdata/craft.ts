import { zlibSync } from "fflate";
import jpeg from "jpeg-js";
import { crc32 } from "node:zlib";

/** Hand-built PNG and JPEG bytes for intake tests: every chunk and CRC is written here, nothing hidden. */

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

export interface Chunk {
  type: string;
  data: Uint8Array;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), at += p.length;
  return out;
}

/** One chunk: length, type, data and a correct CRC (or the given wrong one). */
export function chunkBytes({ type, data }: Chunk, crc?: number): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc ?? crc32(out.subarray(4, 8 + data.length)) >>> 0);
  return out;
}

export function pngBytes(chunks: Chunk[]): Uint8Array {
  return concat([PNG_SIGNATURE, ...chunks.map((c) => chunkBytes(c))]);
}

export function ihdr(
  width: number,
  height: number,
  options: { bitDepth?: number; colorType?: number; interlace?: number } = {},
): Chunk {
  const data = new Uint8Array(13);
  const view = new DataView(data.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  data.set([options.bitDepth ?? 8, options.colorType ?? 0, 0, 0, options.interlace ?? 0], 8);
  return { type: "IHDR", data };
}

export const iend: Chunk = { type: "IEND", data: new Uint8Array() };

/** Filter-0 scanlines of an 8-bit grey image (one byte per pixel). */
export function greyScanlines(width: number, height: number, value: (x: number, y: number) => number): Uint8Array {
  const raw = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) raw[y * (width + 1) + 1 + x] = value(x, y);
  }
  return raw;
}

/** Adam7 passes of an 8-bit grey image, each pass's rows with filter byte 0. */
export function greyAdam7(width: number, height: number, value: (x: number, y: number) => number): Uint8Array {
  const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
  const rows: number[] = [];
  for (const [x0, y0, dx, dy] of passes) {
    if (x0 >= width || y0 >= height) continue;
    for (let y = y0; y < height; y += dy) {
      rows.push(0);
      for (let x = x0; x < width; x += dx) rows.push(value(x, y));
    }
  }
  return Uint8Array.from(rows);
}

export const idat = (raw: Uint8Array): Chunk => ({ type: "IDAT", data: zlibSync(raw) });

/** A valid 8-bit grey PNG, optionally interlaced, with its image data split over `idats` chunks. */
export function greyPng(
  width: number,
  height: number,
  options: { interlace?: boolean; idats?: number; value?: (x: number, y: number) => number } = {},
): Uint8Array {
  const value = options.value ?? ((x, y) => (x * 7 + y * 13) % 256);
  const raw = options.interlace ? greyAdam7(width, height, value) : greyScanlines(width, height, value);
  const data = zlibSync(raw);
  const parts = options.idats ?? 1;
  const size = Math.ceil(data.length / parts);
  const idats = Array.from(
    { length: parts },
    (_, i) => ({ type: "IDAT", data: data.subarray(i * size, (i + 1) * size) }),
  );
  return pngBytes([ihdr(width, height, { interlace: options.interlace ? 1 : 0 }), ...idats, iend]);
}

/** Splits a PNG into its chunks (assumes a well-formed file). */
export function pngChunks(bytes: Uint8Array): Chunk[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: Chunk[] = [];
  for (let at = 8; at + 12 <= bytes.length;) {
    const length = view.getUint32(at);
    chunks.push({
      type: new TextDecoder().decode(bytes.subarray(at + 4, at + 8)),
      data: bytes.slice(at + 8, at + 8 + length),
    });
    at += 12 + length;
  }
  return chunks;
}

/** A baseline JPEG of a smooth gradient (jpeg-js encoder). */
export function gradientJpeg(width: number, height: number, quality = 90): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const x = i % width, y = Math.floor(i / width);
    data.set([(x * 255) / width, (y * 255) / height, 128, 255], 4 * i);
  }
  return new Uint8Array(jpeg.encode({ data, width, height }, quality).data);
}

/** Offsets of every marker segment of a JPEG up to the first SOS: [marker, offset of 0xFF]. */
export function jpegSegments(bytes: Uint8Array): { marker: number; at: number; end: number }[] {
  const out: { marker: number; at: number; end: number }[] = [];
  for (let at = 2; at + 4 <= bytes.length;) {
    const marker = bytes[at + 1];
    const end = at + 2 + ((bytes[at + 2] << 8) | bytes[at + 3]);
    out.push({ marker, at, end });
    if (marker === 0xda) break;
    at = end;
  }
  return out;
}

/** Inserts `segment` (marker + payload, length computed) at byte `at` of a JPEG. */
export function insertJpegSegment(bytes: Uint8Array, at: number, marker: number, payload: Uint8Array): Uint8Array {
  const segment = new Uint8Array(4 + payload.length);
  segment.set([0xff, marker, (payload.length + 2) >> 8, (payload.length + 2) & 0xff]);
  segment.set(payload, 4);
  return concat([bytes.subarray(0, at), segment, bytes.subarray(at)]);
}

/** An APP1 Exif payload holding only an orientation tag (big-endian TIFF). */
export function exifOrientationPayload(orientation: number): Uint8Array {
  const payload = new Uint8Array(6 + 8 + 2 + 12 + 4);
  payload.set([0x45, 0x78, 0x69, 0x66, 0, 0, 0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1]);
  payload.set([0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0], 16);
  return payload;
}

export { concat };
