import type { Limits } from "../config.ts";
import type { InputSpec } from "../model/manifest.ts";
import { decodeImage } from "./decode.ts";
import { readImageBody } from "./read_body.ts";
import { toModelPixels } from "./to_pixels.ts";

export interface ImageIntake {
  /** One image, CHW float32 in [0,1] at the model's input size. */
  pixels: Float32Array;
  /** The `options` value a multipart or JSON body carried, unparsed. */
  options?: unknown;
  source: { format: "png" | "jpeg"; width: number; height: number; bitDepth: number; resized: boolean };
  decodeMs: number;
}

/** Request → bounded body → decoded image → model-sized pixels. */
export async function intakeImage(request: Request, spec: InputSpec, limits: Limits): Promise<ImageIntake> {
  const body = await readImageBody(request, limits.maxBodyBytes);
  const start = performance.now();
  const image = decodeImage(body.bytes, limits.maxPixels);
  const { pixels, resized } = toModelPixels(image, spec);
  return {
    pixels,
    options: body.options,
    source: { format: image.format, width: image.width, height: image.height, bitDepth: image.bitDepth, resized },
    decodeMs: performance.now() - start,
  };
}
