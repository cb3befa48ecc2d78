/**
 * Work accounting in forward-pass equivalents, so the service can refuse a request before running
 * it. One image row through `Classifier.logits` costs 1; one row through `Classifier.gradient`
 * costs `gradientCost`, 2 by default (the derived gradient graph runs the forward pass plus a
 * backward pass of about the same size). A black-box SPSA source costs more per row; callers that
 * know its sample count pass their own `gradientCost`.
 */

import type { Classifier } from "../model/classifier.ts";

/** Rows sent to the classifier, by call kind. */
export interface Evaluations {
  forwardRows: number;
  gradientRows: number;
}

/** Forward-pass equivalents of a gradient row unless the caller says otherwise. */
export const DEFAULT_GRADIENT_COST = 2;

export function emptyEvaluations(): Evaluations {
  return { forwardRows: 0, gradientRows: 0 };
}

export function addEvaluations(a: Evaluations, b: Evaluations): Evaluations {
  return {
    forwardRows: a.forwardRows + b.forwardRows,
    gradientRows: a.gradientRows + b.gradientRows,
  };
}

/** forwardRows + gradientCost · gradientRows. */
export function forwardEquivalents(
  e: Evaluations,
  gradientCost: number = DEFAULT_GRADIENT_COST,
): number {
  return e.forwardRows + gradientCost * e.gradientRows;
}

/** Wraps a classifier so every row it is sent is tallied into `evaluations`. */
export function countingClassifier(
  classifier: Classifier,
): { classifier: Classifier; evaluations: Evaluations } {
  const evaluations = emptyEvaluations();
  const wrapped: Classifier = {
    manifest: classifier.manifest,
    sha256: classifier.sha256,
    backend: classifier.backend,
    gradientMode: classifier.gradientMode,
    unsupportedOps: classifier.unsupportedOps,
    logits(pixels, batch) {
      evaluations.forwardRows += batch;
      return classifier.logits(pixels, batch);
    },
    gradient(pixels, batch, labels, loss) {
      evaluations.gradientRows += batch;
      return classifier.gradient(pixels, batch, labels, loss);
    },
  };
  return { classifier: wrapped, evaluations };
}
