import { drawResizePad, resizePadForward, type ResizePadRange } from "../../kernels/resize.ts";
import { createRng } from "../../kernels/rng.ts";
import { argmax } from "../../kernels/softmax.ts";

export interface RandomizationVotes {
  draws: number;
  /** Fraction of draws whose prediction equals the clean prediction. */
  agreement: number;
  /** Class index → number of draws predicting it (only classes with votes). */
  votes: Record<string, number>;
}

/**
 * Xie et al.'s randomized resizing + padding as a signal: `draws` transforms drawn from the seeded
 * RNG (see drawResizePad for the order of draws) applied to one CHW image, stacked as one batch.
 */
export function resizePadDraws(
  pixels: Float32Array,
  shape: { channels: number; height: number; width: number },
  options: ResizePadRange & { draws: number; seed: number },
): Float32Array {
  const rng = createRng(options.seed);
  const next = () => rng.next();
  const batch = new Float32Array(options.draws * pixels.length);
  for (let d = 0; d < options.draws; d++) {
    batch.set(resizePadForward(pixels, { n: 1, ...shape }, drawResizePad(next, options)), d * pixels.length);
  }
  return batch;
}

/** Votes of the draws' logits; low agreement with the clean prediction means an unstable decision. */
export function votesFromLogits(
  logits: Float32Array,
  draws: number,
  classes: number,
  cleanIndex: number,
): RandomizationVotes {
  const predicted = argmax(logits, { rows: draws, cols: classes });
  const votes: Record<string, number> = {};
  let agree = 0;
  for (const index of predicted) {
    votes[index] = (votes[index] ?? 0) + 1;
    if (index === cleanIndex) agree++;
  }
  return { draws, agreement: agree / draws, votes };
}
