/**
 * The detection threshold for a target false-positive rate on clean scores (Xu et al.): with the
 * n scores sorted ascending and k = ⌈n·(1 − fpr)⌉, threshold = sorted[k − 1]. An input is flagged
 * when its score is strictly greater, so at most n − k ≤ n·fpr clean inputs are flagged.
 * n − k is the largest j with j/n ≤ fpr, compared as float64 (j/n and a decimal fpr both round to
 * the nearest double, so fpr = 0.95 allows 19 of 20): ⌈n·(1 − fpr)⌉ computed directly rounds
 * 1 − 0.95 up and would allow only 18.
 * Returns the threshold and the false-positive rate it gives on these scores.
 */
export function thresholdForFpr(scores: readonly number[], fpr: number): { threshold: number; fpr: number } {
  if (scores.length === 0) throw new RangeError("no scores to calibrate on");
  if (!(fpr >= 0 && fpr < 1)) throw new RangeError(`fpr must be in [0, 1), got ${fpr}`);
  const sorted = [...scores].sort((a, b) => a - b);
  const n = sorted.length;
  let allowed = Math.min(n - 1, Math.floor(n * fpr));
  while (allowed + 1 < n && (allowed + 1) / n <= fpr) allowed++;
  while (allowed > 0 && allowed / n > fpr) allowed--;
  const k = n - allowed;
  const threshold = sorted[k - 1];
  const flagged = sorted.filter((s) => s > threshold).length;
  return { threshold, fpr: flagged / n };
}
