import { Buffer } from "node:buffer";
import { PNG } from "pngjs";

/** One CHW image in [0,1] (1 or 3 channels) as an 8-bit PNG, base64-encoded; v → round(255·v). */
export function pngBase64(pixels: Float32Array, shape: { channels: number; height: number; width: number }): string {
  const { channels, height, width } = shape;
  const png = new PNG({ width, height });
  const plane = height * width;
  for (let i = 0; i < plane; i++) {
    for (let k = 0; k < 3; k++) {
      const v = pixels[(channels === 1 ? 0 : k) * plane + i];
      png.data[4 * i + k] = Math.round(255 * Math.min(1, Math.max(0, v)));
    }
    png.data[4 * i + 3] = 255;
  }
  const bytes = PNG.sync.write(png, { colorType: channels === 1 ? 0 : 2 });
  return Buffer.from(bytes).toString("base64");
}

/**
 * The perturbation δ = adversarial − clean made visible: 0.5 + δ / (2·max|δ|), so mid-grey is
 * "unchanged" and the largest change reaches black or white. All-zero δ gives a flat grey image.
 */
export function amplifiedPerturbation(adversarial: Float32Array, clean: Float32Array): Float32Array {
  let max = 0;
  for (let i = 0; i < clean.length; i++) max = Math.max(max, Math.abs(adversarial[i] - clean[i]));
  const out = new Float32Array(clean.length);
  for (let i = 0; i < clean.length; i++) out[i] = max === 0 ? 0.5 : 0.5 + (adversarial[i] - clean[i]) / (2 * max);
  return out;
}
