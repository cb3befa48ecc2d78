/**
 * Backward formulations where several equivalent graphs exist, chosen per backend by measurement
 * (`deno task bench`, section 3 of BENCHMARKS.md, where every alternative is timed side by side).
 * The alternatives stay selectable so that the benchmark keeps comparing them.
 */
export interface Formulations {
  /**
   * MaxPool with square 2-D windows that tile the input (k×k, stride k, no pads, no dilation,
   * opset ≥ 11): "priority" = window-order ranks of the elements equal to the max, a plain MaxPool
   * of the ranks and MaxUnpool (no Indices output, whose MaxPool kernel is a slow generic loop);
   * "tiles" = SpaceToDepth + ArgMax + nearest Resize; "generic" = Indices + MaxUnpool/scatter or
   * the mask formulation.
   */
  tiledMaxPool: "tiles" | "priority" | "generic";
  /** AveragePool on such windows: "tiles" = nearest Resize of ∂y/k²; "generic" = ConvTranspose. */
  tiledAveragePool: "tiles" | "generic";
  /**
   * Strided 2-D Conv (equal strides, no dilation): "subPixel" computes the s² phases of ∂x with
   * one stride-1 Conv and interleaves them with DepthToSpace; "transpose" is one ConvTranspose.
   */
  stridedConv: "subPixel" | "transpose";
  /**
   * Strided depthwise 2-D Conv (one channel per group): "dilate" inserts zeros into ∂y and runs the
   * stride-1 depthwise Conv with the flipped kernel; "transpose" is the grouped ConvTranspose.
   * Takes precedence over `stridedConv` for those Convs.
   */
  stridedDepthwise: "dilate" | "transpose";
  /**
   * MaxPool "mask" formulation: "argmax" takes ArgMax of the window values; "compare" takes ArgMax
   * of (window value == pooled max) — the same element, two more full-size passes.
   */
  maskPool: "argmax" | "compare";
  /**
   * MaxPool "indices" formulation on non-overlapping windows: "unpool" places ∂y on the forward's
   * Indices with one MaxUnpool; "scatter" builds zeros and scatters into them (ScatterElements).
   */
  maxPoolSpread: "unpool" | "scatter";
  /**
   * Clip's (ReLU6's) pass-through mask lo < y < hi, read from the output y: "where" = Where(Greater
   * And Less, ∂y, 0); "cast" = ∂y · Cast(that mask); "sign" = ∂y · Sign((y − lo)·(hi − y)), floats
   * only (used where hi − lo ≥ 1, so the product of two positive gaps cannot underflow to 0).
   * "cast" and "sign" give NaN for a masked-out ∂y of ±inf (NaN·0), where "where" gives 0.
   */
  clipMask: "where" | "cast" | "sign";
}

export const DEFAULT_FORMULATIONS: Readonly<Formulations> = {
  tiledMaxPool: "priority",
  tiledAveragePool: "tiles",
  // Measured slower than ConvTranspose on both CPU backends (ResNet-18, MobileNetV2): the phase
  // Conv does s²·⌈K/s⌉² instead of K² multiply-adds per ∂y element, and DepthToSpace is a copy.
  stridedConv: "transpose",
  stridedDepthwise: "dilate",
  maskPool: "argmax",
  maxPoolSpread: "unpool",
  clipMask: "where",
};

/**
 * The formulations the service derives with on `backend`. onnxruntime-node's MaxPool with
 * Indices is a slow generic loop (30× its plain MaxPool), so the rank formulation wins there;
 * onnxruntime-web's WASM build runs Indices + MaxUnpool as fast at batch 16 and a little faster
 * at batch 1 (fashion-cnn, one-thread CPU time). The Resize form of AveragePool wins on both. onnxruntime-node's
 * Where is several passes (10 chained ReLU6 masks of a [1,96,112,112] tensor: 45 ms as Where, 24 ms as Cast + Mul), so
 * Clip's mask is cast there (MobileNetV2 224² batch 1 fwd+grad 0.91× of Where's); onnxruntime-web runs the
 * float-only sign mask a little faster than either (0.95×). WebGPU has not been measured (no adapter on the
 * benchmark machine) and gets the WASM choices.
 */
export function formulationsFor(backend: "wasm" | "webgpu" | "native"): Partial<Formulations> {
  return backend === "native" ? { clipMask: "cast" } : { tiledMaxPool: "generic", clipMask: "sign" };
}

/** The formulation in force for `key` given the (partial) options of a derivation. */
export function formulation<K extends keyof Formulations>(
  chosen: Partial<Formulations> | undefined,
  key: K,
): Formulations[K] {
  return chosen?.[key] ?? DEFAULT_FORMULATIONS[key];
}
