/**
 * The check's summary score in [0,1] (higher = easier to fool or more suspicious):
 *   score = 0.5·fragility + 0.3·squeeze + 0.2·instability
 * - fragility: from the minimal-ε search, 1 − ε/high when broken (1 when the clean prediction
 *   already misses the label), 0 when even `high` does not break it; without that search, the
 *   fraction of FGSM/PGD probes that succeeded (0 with no probes);
 * - squeeze: joint / (2·threshold), clipped to [0,1] (0.5 exactly at the threshold); without a
 *   threshold joint / 2 (the L1 distance of two distributions is at most 2); 0 when off;
 * - instability: 1 − agreement of the randomized-resize votes with the clean prediction; 0 when off.
 */
export interface ScoreParts {
  fragility: number;
  squeeze: number;
  instability: number;
}

export function combineScore(parts: ScoreParts): number {
  return 0.5 * parts.fragility + 0.3 * parts.squeeze + 0.2 * parts.instability;
}

export function fragilityPart(
  minimal: { broken: boolean; epsilon: number | null; high: number } | null,
  probeSuccesses: boolean[],
): number {
  if (minimal) return minimal.broken ? clip01(1 - (minimal.epsilon ?? 0) / minimal.high) : 0;
  return probeSuccesses.length === 0 ? 0 : probeSuccesses.filter(Boolean).length / probeSuccesses.length;
}

export function squeezePart(joint: number | null, threshold: number | null): number {
  if (joint === null) return 0;
  return clip01(threshold ? joint / (2 * threshold) : joint / 2);
}

function clip01(v: number): number {
  return Math.min(1, Math.max(0, v));
}
