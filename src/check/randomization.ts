import { drawResizePad, resizePadForward, type ResizePadRange } from "../../kernels/resize.ts";
import { createRng } from "../../kernels/rng.ts";
import { argmax } from "../../kernels/softmax.ts";
import type { Classifier } from "../runtime/classifier.ts";

export interface RandomizationVotes {
  draws: number;
  /** Fraction of draws whose prediction equals the clean prediction. */
  agreement: number;
  /** Class index → number of draws predicting it (only classes with votes). */
  votes: Record<string, number>;
}

/**
 * Xie et al.'s randomized resizing + padding as a signal: `draws` transforms are drawn from the
 * seeded RNG (see drawResizePad for the order of draws), applied to the image, and classified in
 * one batch. Low agreement with the clean prediction means the decision is unstable.
 */
export async function randomizationVotes(
  classifier: Classifier,
  pixels: Float32Array,
  cleanIndex: number,
  options: ResizePadRange & { draws: number; seed: number },
): Promise<RandomizationVotes> {
  const { channels, height, width } = classifier.manifest.input;
  const shape = { n: 1, channels, height, width };
  const rng = createRng(options.seed);
  const next = () => rng.next();
  const size = pixels.length;
  const batch = new Float32Array(options.draws * size);
  for (let d = 0; d < options.draws; d++) {
    batch.set(resizePadForward(pixels, shape, drawResizePad(next, options)), d * size);
  }
  const logits = await classifier.logits(batch, options.draws);
  const predicted = argmax(logits, { rows: options.draws, cols: classifier.manifest.labels.length });
  const votes: Record<string, number> = {};
  let agree = 0;
  for (const index of predicted) {
    votes[index] = (votes[index] ?? 0) + 1;
    if (index === cleanIndex) agree++;
  }
  return { draws: options.draws, agreement: agree / options.draws, votes };
}
