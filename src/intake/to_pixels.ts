import { resizeBilinear } from "../../kernels/resize.ts";
import type { InputSpec } from "../model/manifest.ts";
import type { DecodedImage } from "./decode.ts";

export interface ModelPixels {
  /** One image, CHW float32 in [0,1] at the model's input size. */
  pixels: Float32Array;
  /** Whether the decoded image had to be resized to the model's input size. */
  resized: boolean;
}

/**
 * Converts a decoded image to the model's channels and size:
 * - samples become v / maxValue (float32);
 * - alpha is composited on white: c' = c·a + (1 − a);
 * - RGB → grey uses ITU-R BT.601 luma 0.299 R + 0.587 G + 0.114 B (grey sources pass exactly);
 * - grey → RGB replicates the value;
 * - a different size is resized with antialiased bilinear (torch `interpolate(bilinear,
 *   antialias=True, align_corners=False)`, i.e. PIL's triangle filter when shrinking); an image
 *   already at the input size is passed through untouched.
 */
export function toModelPixels(
  image: DecodedImage,
  spec: Pick<InputSpec, "channels" | "height" | "width">,
): ModelPixels {
  const { width, height, rgba, maxValue } = image;
  const plane = width * height;
  const chw = new Float32Array(spec.channels * plane);
  for (let i = 0; i < plane; i++) {
    const a = Math.fround(rgba[4 * i + 3] / maxValue);
    const r = Math.fround(rgba[4 * i] / maxValue) * a + (1 - a);
    const g = Math.fround(rgba[4 * i + 1] / maxValue) * a + (1 - a);
    const b = Math.fround(rgba[4 * i + 2] / maxValue) * a + (1 - a);
    if (spec.channels === 1) {
      chw[i] = r === g && g === b ? r : 0.299 * r + 0.587 * g + 0.114 * b;
    } else {
      chw[i] = r;
      chw[plane + i] = g;
      chw[2 * plane + i] = b;
    }
  }
  if (width === spec.width && height === spec.height) return { pixels: chw, resized: false };
  const pixels = resizeBilinear(chw, { channels: spec.channels, height, width }, spec.height, spec.width);
  return { pixels, resized: true };
}
