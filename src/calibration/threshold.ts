/**
 * The detection threshold for a target false-positive rate on clean scores (Xu et al.): with the
 * n scores sorted ascending and k = ⌈n·(1 − fpr)⌉, threshold = sorted[k − 1]. An input is flagged
 * when its score is strictly greater, so at most n − k ≤ n·fpr clean inputs are flagged.
 * Returns the threshold and the false-positive rate it gives on these scores.
 */
export function thresholdForFpr(scores: readonly number[], fpr: number): { threshold: number; fpr: number } {
  if (scores.length === 0) throw new RangeError("no scores to calibrate on");
  if (!(fpr >= 0 && fpr < 1)) throw new RangeError(`fpr must be in [0, 1), got ${fpr}`);
  const sorted = [...scores].sort((a, b) => a - b);
  const k = Math.max(1, Math.ceil(sorted.length * (1 - fpr)));
  const threshold = sorted[k - 1];
  const flagged = sorted.filter((s) => s > threshold).length;
  return { threshold, fpr: flagged / sorted.length };
}
