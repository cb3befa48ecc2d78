import type { Classifier } from "./classifier.ts";

/**
 * SPSA directions per estimate for a d-dimensional input: round(0.75·d) clamped to [128, 1024]. With n
 * Rademacher directions the estimate's cosine with the true gradient is about 1/√(1 + d/n), so
 * this gives ≈ 0.65 up to d ≈ 1365 and degrades gracefully beyond (0.47 at 32×32×3).
 */
export function spsaSamples(size: number): number {
  return Math.min(1024, Math.max(128, Math.round(0.75 * size)));
}

/** Forward-pass equivalents of one SPSA gradient row: 2 per direction plus the clean pass. */
export function spsaCostPerRow(size: number): number {
  return 2 * spsaSamples(size) + 1;
}

/** Forward-pass equivalents of one gradient row: 2 for the derived graph, 2·samples + 1 for SPSA. */
export function gradientCostOf(classifier: Pick<Classifier, "manifest" | "gradientMode">): number {
  const { channels, height, width } = classifier.manifest.input;
  return classifier.gradientMode === "spsa" ? spsaCostPerRow(channels * height * width) : 2;
}
