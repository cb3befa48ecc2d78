import { type Squeezer, squeezerName, squeezeScores } from "../check/squeeze.ts";
import type { Classifier } from "../model/classifier.ts";
import type { Calibration, CalibrationStore } from "./store.ts";
import { thresholdForFpr } from "./threshold.ts";

export interface CalibrationResult extends Calibration {
  scores: { min: number; median: number; max: number };
}

/**
 * Scores each clean image with the joint squeeze score, picks the threshold for the target FPR
 * (see thresholdForFpr), and stores it for this model file.
 */
export async function calibrate(input: {
  classifier: Classifier;
  images: Float32Array[];
  squeezers: Squeezer[];
  targetFpr: number;
  store: CalibrationStore;
  now?: Date;
  /** Checked before every image. */
  signal?: AbortSignal;
}): Promise<CalibrationResult> {
  const { classifier, images, squeezers } = input;
  const scores: number[] = [];
  for (const pixels of images) {
    input.signal?.throwIfAborted();
    const clean = await classifier.logits(pixels, 1);
    scores.push((await squeezeScores(classifier, pixels, clean, squeezers)).joint);
  }
  const { threshold, fpr } = thresholdForFpr(scores, input.targetFpr);
  const calibration: Calibration = {
    threshold,
    targetFpr: input.targetFpr,
    fpr,
    count: images.length,
    squeezers: squeezers.map(squeezerName),
    calibratedAt: (input.now ?? new Date()).toISOString(),
  };
  await input.store.set(classifier.manifest.id, classifier.sha256, calibration);
  const sorted = [...scores].sort((a, b) => a - b);
  return {
    ...calibration,
    scores: { min: sorted[0], median: sorted[Math.floor(sorted.length / 2)], max: sorted.at(-1)! },
  };
}
