import { rowLosses } from "../../kernels/loss.ts";
import { createRng } from "../../kernels/rng.ts";
import type { LossKind } from "../model/classifier.ts";

export interface SpsaOptions {
  /** Rademacher directions per row; each costs two forward passes. */
  samples: number;
  /** Finite-difference step in pixel units. */
  delta: number;
  /** Seeds the directions; the same seed and input give the same estimate. */
  seed: number;
  /** Rows per forward batch (bounds memory on large inputs). */
  maxBatchRows: number;
}

export const SPSA_DELTA = 0.01;
export const SPSA_MAX_BATCH_ROWS = 128;

/**
 * SPSA gradient estimate (Uesato et al. 2018): for Rademacher directions v_i ∈ {−1,+1}^d,
 * g ≈ (1/n) Σ_i [L(x + δv_i) − L(x − δv_i)] / (2δ) · v_i. The perturbed points are not clipped to
 * [0,1], which would bias the central difference at saturated pixels. All 2n points of a row are
 * evaluated in batched forward passes.
 */
export async function spsaGradient(
  forward: (pixels: Float32Array, batch: number) => Promise<Float32Array>,
  pixels: Float32Array,
  batch: number,
  labels: Int32Array,
  loss: LossKind,
  options: SpsaOptions,
): Promise<{ logits: Float32Array; loss: Float32Array; grad: Float32Array }> {
  const size = pixels.length / batch;
  const cleanLogits = await forward(pixels, batch);
  const classes = cleanLogits.length / batch;
  const grad = new Float32Array(pixels.length);
  const { samples, delta } = options;
  const rng = createRng(options.seed);
  const pairsPerRun = Math.max(1, Math.floor(options.maxBatchRows / 2));
  for (let row = 0; row < batch; row++) {
    const x = pixels.subarray(row * size, (row + 1) * size);
    const g = grad.subarray(row * size, (row + 1) * size);
    for (let done = 0; done < samples; done += pairsPerRun) {
      const pairs = Math.min(pairsPerRun, samples - done);
      const signs = new Int8Array(pairs * size);
      for (let i = 0; i < signs.length; i++) signs[i] = rng.next() < 0.5 ? -1 : 1;
      const points = new Float32Array(2 * pairs * size);
      for (let p = 0; p < pairs; p++) {
        const plus = points.subarray(2 * p * size, (2 * p + 1) * size);
        const minus = points.subarray((2 * p + 1) * size, (2 * p + 2) * size);
        for (let i = 0; i < size; i++) {
          const step = delta * signs[p * size + i];
          plus[i] = x[i] + step;
          minus[i] = x[i] - step;
        }
      }
      const logits = await forward(points, 2 * pairs);
      const losses = rowLosses(logits, classes, new Int32Array(2 * pairs).fill(labels[row]), loss);
      for (let p = 0; p < pairs; p++) {
        const scale = (losses[2 * p] - losses[2 * p + 1]) / (2 * delta * samples);
        for (let i = 0; i < size; i++) g[i] += scale * signs[p * size + i];
      }
    }
  }
  return { logits: cleanLogits, loss: Float32Array.from(rowLosses(cleanLogits, classes, labels, loss)), grad };
}
