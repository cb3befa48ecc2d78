import decodeWebpCodec, { init as initWebpCodec } from "@jsquash/webp/decode.js";
import { createRequire } from "node:module";
import { RequestError } from "../errors.ts";

/** What the RIFF container and the first image chunk of a WebP say. */
export interface WebpHeader {
  width: number;
  height: number;
}

const IMAGE_CHUNKS = new Set(["VP8 ", "VP8L", "VP8X", "ALPH", "ANIM", "ANMF"]);

export function isWebp(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && fourcc(bytes, 0) === "RIFF" && fourcc(bytes, 8) === "WEBP";
}

function corrupt(message: string): RequestError {
  return new RequestError(422, "undecodable_image", `the WebP is invalid: ${message}`);
}

function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
}

/** Reads the size from the first chunk (VP8X canvas, VP8 frame header or VP8L header) without decoding. */
export function readWebpHeader(bytes: Uint8Array): WebpHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 30) throw corrupt("too short to hold an image header");
  const chunk = fourcc(bytes, 12);
  if (chunk === "VP8X") {
    if (bytes[20] & 0x02) throw corrupt("animated WebP is not supported");
    const u24 = (at: number) => bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16);
    return { width: u24(24) + 1, height: u24(27) + 1 };
  }
  if (chunk === "VP8 ") {
    if (bytes[23] !== 0x9d || bytes[24] !== 0x01 || bytes[25] !== 0x2a) throw corrupt("bad VP8 start code");
    return { width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff };
  }
  if (chunk === "VP8L") {
    if (bytes[20] !== 0x2f) throw corrupt("bad VP8L signature");
    const bits = view.getUint32(21, true);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  throw corrupt(`the first chunk is ${JSON.stringify(chunk)}, not VP8X, VP8 or VP8L`);
}

/**
 * Checks the RIFF structure before libwebp sees it: the RIFF size matches the file (a cut file is an
 * error), every chunk fits, no image chunk is repeated, and the size libwebp will decode is the one
 * read by {@link readWebpHeader} (libwebp checks a VP8X canvas against its frame; the decoded size is
 * compared again after decoding).
 */
export function validateWebp(bytes: Uint8Array): WebpHeader {
  const header = readWebpHeader(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = view.getUint32(4, true) + 8;
  if (end > bytes.length) throw corrupt(`the RIFF container claims ${end} bytes; the file has ${bytes.length}`);
  const seen = new Set<string>();
  for (let at = 12; at < end;) {
    if (at + 8 > end) throw corrupt(`chunk header at byte ${at} is cut short`);
    const type = fourcc(bytes, at);
    const size = view.getUint32(at + 4, true);
    const next = at + 8 + size + (size & 1);
    if (at + 8 + size > end) throw corrupt(`chunk ${JSON.stringify(type)} at byte ${at} is cut short`);
    if (IMAGE_CHUNKS.has(type) && seen.has(type)) throw corrupt(`more than one ${JSON.stringify(type)} chunk`);
    seen.add(type);
    at = next;
  }
  if (seen.has("ANIM") || seen.has("ANMF")) throw corrupt("animated WebP is not supported");
  return header;
}

let codec: WebAssembly.Module | undefined;

/**
 * Decodes with libwebp (via @jsquash/webp's WASM build) into RGBA. Each call gets a fresh WASM
 * instance of the compiled module, so a malformed image cannot leave state behind for the next one.
 */
export async function decodeWebpRgba(bytes: Uint8Array): Promise<{ width: number; height: number; rgba: Uint8Array }> {
  codec ??= new WebAssembly.Module(
    await Deno.readFile(createRequire(import.meta.url).resolve("@jsquash/webp/codec/dec/webp_dec.wasm")),
  );
  // The package's types omit the (module) overload its JavaScript accepts.
  await (initWebpCodec as unknown as (module: WebAssembly.Module) => Promise<void>)(codec);
  const image = await decodeWebpCodec(bytes as unknown as ArrayBuffer);
  const data = image.data;
  return { width: image.width, height: image.height, rgba: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}
