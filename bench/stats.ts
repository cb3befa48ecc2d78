/** Order statistics for timing samples. */

/** Linear-interpolated quantile (q in [0,1]) of `values`; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Formats milliseconds with precision that suits the magnitude. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return "–";
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

export function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : "–";
}

/**
 * A pause before each measured call of an interleaved comparison: the previous runtime's thread
 * pool (OpenMP's or onnxruntime's spin-waiting workers) goes idle first, so it does not take the
 * cores from the next runtime's measurement.
 */
export const SETTLE_MS = 20;

export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
}
