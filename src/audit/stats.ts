/** Small statistics of the report, each an exact specification. */

/** z for a two-sided 95% interval (the 0.975 normal quantile). */
export const Z95 = 1.959963984540054;

export interface Estimate {
  count: number;
  total: number;
  /** count / total; null when total is 0. */
  rate: number | null;
  /** 95% Wilson score interval; null when total is 0. */
  low: number | null;
  high: number | null;
}

/**
 * Wilson score interval (Wilson 1927): with p = k/n,
 *   centre = (p + z²/2n) / (1 + z²/n),  half = z·√(p(1−p)/n + z²/4n²) / (1 + z²/n),
 * clipped to [0, 1] (and to contain p despite rounding). Unlike the normal interval it stays inside [0, 1] and is not degenerate at
 * k = 0 or k = n.
 */
export function wilson(count: number, total: number, z = Z95): Estimate {
  if (total === 0) return { count, total, rate: null, low: null, high: null };
  const p = count / total;
  const z2 = z * z;
  const denominator = 1 + z2 / total;
  const centre = (p + z2 / (2 * total)) / denominator;
  const half = (z * Math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))) / denominator;
  // At k = 0 (k = n) the bound is exactly 0 (1); rounding must not push it past p.
  return {
    count,
    total,
    rate: p,
    low: Math.min(p, Math.max(0, centre - half)),
    high: Math.max(p, Math.min(1, centre + half)),
  };
}

/** Area under the ROC curve as the Mann–Whitney statistic: P(pos > neg) + ½·P(pos = neg). */
export function auc(positives: readonly number[], negatives: readonly number[]): number | null {
  if (positives.length === 0 || negatives.length === 0) return null;
  const neg = [...negatives].sort((a, b) => a - b);
  let sum = 0;
  for (const p of positives) {
    // below = #neg < p, equal = #neg == p, by binary search.
    const below = lowerBound(neg, p);
    const equal = lowerBound(neg, p, true) - below;
    sum += below + equal / 2;
  }
  return sum / (positives.length * negatives.length);
}

/** First index with sorted[i] ≥ value (or > value when `strict`). */
function lowerBound(sorted: readonly number[], value: number, strict = false): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (strict ? sorted[mid] <= value : sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface RocPoint {
  /** Scores ≥ threshold are flagged (+Infinity is reported as null: nothing flagged). */
  threshold: number | null;
  fpr: number;
  tpr: number;
}

/** ROC points from flagging nothing to flagging everything, one per distinct score. */
export function roc(positives: readonly number[], negatives: readonly number[]): RocPoint[] {
  if (positives.length === 0 || negatives.length === 0) return [];
  const thresholds = [...new Set([...positives, ...negatives])].sort((a, b) => b - a);
  const points: RocPoint[] = [{ threshold: null, fpr: 0, tpr: 0 }];
  for (const t of thresholds) {
    points.push({
      threshold: t,
      fpr: negatives.filter((s) => s >= t).length / negatives.length,
      tpr: positives.filter((s) => s >= t).length / positives.length,
    });
  }
  return points;
}

/** Trapezoidal area under ROC points (equals `auc` for the points of `roc`). */
export function trapezoidArea(points: readonly RocPoint[]): number {
  let area = 0;
  for (let i = 1; i < points.length; i++) {
    area += (points[i].fpr - points[i - 1].fpr) * (points[i].tpr + points[i - 1].tpr) / 2;
  }
  return area;
}

/** Nearest-rank quantile: sorted[⌈q·n⌉ − 1] (sorted[0] for q = 0); null for an empty list. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

export interface Bin {
  low: number;
  high: number;
  count: number;
}

/** `bins` equal bins on [low, high]: [low + k·w, low + (k+1)·w), the last one closed. */
export function histogram(values: readonly number[], low: number, high: number, bins: number): Bin[] {
  const w = (high - low) / bins;
  const out = Array.from({ length: bins }, (_, k) => ({ low: low + k * w, high: low + (k + 1) * w, count: 0 }));
  for (const v of values) {
    if (v < low || v > high) continue;
    out[Math.min(bins - 1, Math.floor((v - low) / w))].count++;
  }
  return out;
}
