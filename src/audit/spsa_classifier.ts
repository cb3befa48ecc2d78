/**
 * A classifier whose gradient is an SPSA estimate made row by row (src/runtime/spsa.ts), each row
 * seeded by FNV-1a over (its pixels' bits, its label, `seed`): an image's estimate depends only on
 * that image's iterate, never on the other rows of the batch, so audit results do not depend on
 * shard composition. Used for the gradient-masking check on models with exact gradients and in
 * place of the runtime's batch-seeded SPSA on models without them.
 */
import { SPSA_MAX_BATCH_ROWS, spsaGradient } from "../runtime/spsa.ts";
import type { Classifier, GradientResult } from "../model/classifier.ts";

export interface RowSpsaOptions {
  samples: number;
  delta: number;
  seed: number;
}

function rowSeed(pixels: Float32Array, label: number, seed: number): number {
  let hash = 0x811c9dc5 ^ seed;
  const words = new Uint32Array(pixels.buffer, pixels.byteOffset, pixels.length);
  for (let i = 0; i < words.length; i++) hash = Math.imul(hash ^ words[i], 0x01000193);
  return Math.imul(hash ^ label, 0x01000193) >>> 0;
}

export function rowSeededSpsa(classifier: Classifier, options: RowSpsaOptions): Classifier {
  const { channels, height, width } = classifier.manifest.input;
  const size = channels * height * width;
  const forward = (p: Float32Array, n: number) => classifier.logits(p, n);
  return {
    manifest: classifier.manifest,
    sha256: classifier.sha256,
    backend: classifier.backend,
    gradientMode: "spsa",
    unsupportedOps: classifier.unsupportedOps,
    logits: forward,
    async gradient(pixels, batch, labels, loss): Promise<GradientResult> {
      const classes = classifier.manifest.labels.length;
      const logits = new Float32Array(batch * classes);
      const lossOut = new Float32Array(batch);
      const grad = new Float32Array(batch * size);
      for (let r = 0; r < batch; r++) {
        const row = pixels.subarray(r * size, (r + 1) * size);
        const e = await spsaGradient(forward, row, 1, labels.subarray(r, r + 1), loss, {
          samples: options.samples,
          delta: options.delta,
          maxBatchRows: SPSA_MAX_BATCH_ROWS,
          seed: rowSeed(row, labels[r], options.seed),
        });
        logits.set(e.logits, r * classes);
        lossOut[r] = e.loss[0];
        grad.set(e.grad, r * size);
      }
      return { logits, loss: lossOut, grad, mode: "spsa" };
    },
  };
}
