/**
 * One dataset image → model-sized pixels through the intake's decoder and converter (the same
 * path as a /check upload), or the reason it could not be decoded (a per-image error row).
 */
import { RequestError } from "../errors.ts";
import { decodeImage } from "../intake/decode.ts";
import { toModelPixels } from "../intake/to_pixels.ts";
import type { InputSpec } from "../model/manifest.ts";
import type { DatasetImage, ImageProblem } from "./dataset.ts";

export type DecodedDatasetImage = { pixels: Float32Array; error: null } | { pixels: null; error: ImageProblem };

export async function decodeDatasetImage(
  image: DatasetImage,
  spec: Pick<InputSpec, "channels" | "height" | "width">,
  maxPixels: number,
): Promise<DecodedDatasetImage> {
  if (image.error) return { pixels: null, error: image.error };
  try {
    return { pixels: toModelPixels(await decodeImage(image.bytes, maxPixels), spec).pixels, error: null };
  } catch (error) {
    if (!(error instanceof RequestError)) throw error;
    const code = error.code === "unsupported_image_format" ? "unsupported_image_format" : "undecodable_image";
    return { pixels: null, error: { code, message: error.message } };
  }
}
