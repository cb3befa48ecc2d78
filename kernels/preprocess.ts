/** How [0,1] pixels map to a model's input (the fields of a manifest's `input` that matter here). */
export interface PreprocessSpec {
  layout: "NCHW" | "NHWC";
  channels: number;
  height: number;
  width: number;
  scale: "unit" | "byte";
  mean: readonly number[];
  std: readonly number[];
}

/** Options for {@link toModelInput} / {@link fromModelInput}. */
export interface PreprocessOptions {
  /** Batch size; the arrays hold n × channels × height × width values. */
  n: number;
  /** The manifest's input description (layout, scale, mean, std, sizes). */
  spec: PreprocessSpec;
  /** Optional destination buffer of the same length (must not alias the source). */
  out?: Float32Array;
}

/** Validates lengths and returns the destination (the caller's `out` or a new array). */
function destination(src: Float32Array, { n, spec, out }: PreprocessOptions): Float32Array {
  const size = n * spec.channels * spec.height * spec.width;
  if (src.length !== size) throw new RangeError(`expected ${size} values, got ${src.length}`);
  if (out && out.length !== size) throw new RangeError(`out must hold ${size} values`);
  return out ?? new Float32Array(size);
}

/**
 * Pixels NCHW in [0,1] → model input: v = (p × k − mean[c]) / std[c] with k = 255 for
 * `scale: "byte"` and 1 for `"unit"`, written in `spec.layout` (NCHW, or NHWC with channels
 * innermost). Arithmetic in float64, each result rounded once to float32.
 */
export function toModelInput(pixels: Float32Array, opts: PreprocessOptions): Float32Array {
  const out = destination(pixels, opts);
  const { n, spec } = opts;
  const { channels: c, height: h, width: w } = spec;
  const k = spec.scale === "byte" ? 255 : 1;
  const plane = h * w;
  const nhwc = spec.layout === "NHWC";
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const std = spec.std[ch];
      const mean = spec.mean[ch];
      const src = (b * c + ch) * plane;
      if (nhwc) {
        const base = b * c * plane + ch;
        for (let i = 0; i < plane; i++) out[base + i * c] = (pixels[src + i] * k - mean) / std;
      } else {
        for (let i = 0; i < plane; i++) out[src + i] = (pixels[src + i] * k - mean) / std;
      }
    }
  }
  return out;
}

/**
 * Inverse of {@link toModelInput}: model input in `spec.layout` → pixels NCHW,
 * p = (v × std[c] + mean[c]) / k. Round trips agree to float32 rounding (≈1e-7 relative).
 */
export function fromModelInput(input: Float32Array, opts: PreprocessOptions): Float32Array {
  const out = destination(input, opts);
  const { n, spec } = opts;
  const { channels: c, height: h, width: w } = spec;
  const k = spec.scale === "byte" ? 255 : 1;
  const plane = h * w;
  const nhwc = spec.layout === "NHWC";
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const std = spec.std[ch];
      const mean = spec.mean[ch];
      const dst = (b * c + ch) * plane;
      if (nhwc) {
        const base = b * c * plane + ch;
        for (let i = 0; i < plane; i++) out[dst + i] = (input[base + i * c] * std + mean) / k;
      } else {
        for (let i = 0; i < plane; i++) out[dst + i] = (input[dst + i] * std + mean) / k;
      }
    }
  }
  return out;
}
