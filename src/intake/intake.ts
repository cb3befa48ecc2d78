import type { Limits } from "../config.ts";
import { RequestError } from "../errors.ts";
import type { InputSpec } from "../model/manifest.ts";
import { checkPixelLimit, readImageHeader } from "./decode.ts";
import type { DecodePool } from "./decode_pool.ts";
import type { ImageSource } from "./decode_protocol.ts";
import { readImageBody } from "./read_body.ts";

/** What intake needs from the running service. */
export interface IntakeDeps {
  limits: Limits;
  decoder: DecodePool;
}

type Spec = Pick<InputSpec, "channels" | "height" | "width">;

export interface ImageIntake {
  /** One image, CHW float32 in [0,1] at the model's input size. */
  pixels: Float32Array;
  /** The `options` value a multipart or JSON body carried, unparsed. */
  options?: unknown;
  source: ImageSource;
  decodeMs: number;
}

/**
 * Request → bounded body (within `limits.bodyTimeoutMs`) → header checked against the limits → decoded off the main
 * thread → model-sized pixels. An aborted `signal` stops the body read and drops a decode still waiting.
 */
export async function intakeImage(
  request: Request,
  spec: Spec,
  deps: IntakeDeps,
  signal?: AbortSignal,
): Promise<ImageIntake> {
  const body = await readImageBody(request, deps.limits.maxBodyBytes, { timeoutMs: deps.limits.bodyTimeoutMs, signal });
  checkPixelLimit(readImageHeader(body.bytes), deps.limits.maxPixels);
  const decoded = await deps.decoder.decode({ bytes: body.bytes, maxPixels: deps.limits.maxPixels, spec }, signal);
  return { ...decoded, options: body.options };
}

/**
 * Several images (a calibration set) → model-sized pixels, in order. Every header is checked first:
 * each image against `maxPixels`, all together against `maxRequestPixels`; then they are decoded on
 * the pool (its size bounds the parallelism). The first failure names the image and cancels the
 * images still waiting, as does an aborted `signal`.
 */
export async function decodeImagesToPixels(
  images: Uint8Array[],
  spec: Spec,
  deps: IntakeDeps,
  signal?: AbortSignal,
): Promise<Float32Array[]> {
  const { maxPixels, maxRequestPixels } = deps.limits;
  let total = 0;
  images.forEach((bytes, i) => {
    try {
      const header = readImageHeader(bytes);
      checkPixelLimit(header, maxPixels);
      total += header.width * header.height;
    } catch (error) {
      throw naming(i, error);
    }
  });
  if (total > maxRequestPixels) {
    throw new RequestError(
      413,
      "image_too_large",
      `the images hold ${total} pixels together; the limit for one request is ${maxRequestPixels}`,
    );
  }
  const cancel = new AbortController();
  signal?.addEventListener("abort", () => cancel.abort(signal.reason), { once: true });
  const decoded = images.map((bytes, i) =>
    deps.decoder.decode({ bytes, maxPixels, spec }, cancel.signal).catch((error): never => {
      if (cancel.signal.aborted) throw error;
      cancel.abort(error);
      throw naming(i, error);
    })
  );
  return (await Promise.all(decoded)).map((d) => d.pixels);
}

function naming(index: number, error: unknown): unknown {
  if (!(error instanceof RequestError)) return error;
  return new RequestError(error.status, error.code, `image ${index}: ${error.message}`);
}
