import encode, { init } from "@jsquash/webp/encode.js";
import { createRequire } from "node:module";

let ready: Promise<void> | undefined;

/** Encodes RGBA with libwebp (the @jsquash/webp encoder, baseline WASM build) for tests. */
export async function encodeWebp(
  rgba: Uint8Array,
  width: number,
  height: number,
  options: { lossless?: boolean; quality?: number } = {},
): Promise<Uint8Array> {
  ready ??= Deno.readFile(createRequire(import.meta.url).resolve("@jsquash/webp/codec/enc/webp_enc.wasm"))
    .then((bytes) => (init as unknown as (module: WebAssembly.Module) => Promise<void>)(new WebAssembly.Module(bytes)));
  await ready;
  const image = { data: new Uint8ClampedArray(rgba), width, height, colorSpace: "srgb" } as ImageData;
  return new Uint8Array(await encode(image, { quality: options.quality ?? 90, lossless: options.lossless ? 1 : 0 }));
}

/** A width×height RGBA test pattern. */
export function pattern(width: number, height: number): Uint8Array {
  return Uint8Array.from({ length: width * height * 4 }, (_, i) => (i % 4 === 3 ? 255 : (i * 37 + (i >> 7)) % 256));
}
