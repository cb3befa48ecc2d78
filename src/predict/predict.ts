import { softmax, topK } from "../../kernels/softmax.ts";
import type { Classifier } from "../model/classifier.ts";

export interface RankedLabel {
  index: number;
  label: string;
  probability: number;
}

export interface Prediction {
  index: number;
  label: string;
  confidence: number;
  topK: RankedLabel[];
}

/**
 * The row's classes ranked by logit (ties keep the lower class index first), with their softmax probabilities. The
 * ranking is by logits, not probabilities: float32 softmax can round logits that differ into equal probabilities,
 * and the prediction must be the class the attacks' success test and the gradient graph's ArgMax call predicted.
 */
export function rankPrediction(logits: Float32Array, labels: readonly string[], k: number): Prediction {
  const shape = { rows: 1, cols: labels.length };
  const probabilities = softmax(logits, shape);
  const ranked = Array.from(topK(logits, { ...shape, k }).indices, (index) => ({
    index,
    label: labels[index],
    probability: probabilities[index],
  }));
  return { index: ranked[0].index, label: ranked[0].label, confidence: ranked[0].probability, topK: ranked };
}

/** One forward pass on one image. */
export async function predict(classifier: Classifier, pixels: Float32Array, k: number): Promise<Prediction> {
  const logits = await classifier.logits(pixels, 1);
  return rankPrediction(logits, classifier.manifest.labels, k);
}
