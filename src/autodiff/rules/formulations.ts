/**
 * Backward formulations where several equivalent graphs exist, chosen per backend by measurement
 * (`deno task bench`, section 3 of BENCHMARKS.md, where every alternative is timed side by side).
 * The alternatives stay selectable so that the benchmark keeps comparing them.
 */
export interface Formulations {
  /**
   * MaxPool with square 2-D windows that tile the input (k×k, stride k, no pads, no dilation,
   * opset ≥ 11): "tiles" = SpaceToDepth + ArgMax + nearest Resize (no Indices, no scatter);
   * "generic" = Indices + scatter or the mask formulation.
   */
  tiledMaxPool: "tiles" | "generic";
  /** AveragePool on such windows: "tiles" = nearest Resize of ∂y/k²; "generic" = ConvTranspose. */
  tiledAveragePool: "tiles" | "generic";
  /**
   * Strided 2-D Conv (equal strides, no dilation): "subPixel" computes the s² phases of ∂x with
   * one stride-1 Conv and interleaves them with DepthToSpace; "transpose" is one ConvTranspose.
   */
  stridedConv: "subPixel" | "transpose";
  /**
   * MaxPool "mask" formulation: "argmax" takes ArgMax of the window values; "compare" takes ArgMax
   * of (window value == pooled max) — the same element, two more full-size passes.
   */
  maskPool: "argmax" | "compare";
}

export const DEFAULT_FORMULATIONS: Readonly<Formulations> = {
  tiledMaxPool: "tiles",
  tiledAveragePool: "tiles",
  // Measured slower than ConvTranspose on both CPU backends (ResNet-18, MobileNetV2): the phase
  // Conv does s²·⌈K/s⌉² instead of K² multiply-adds per ∂y element, and DepthToSpace is a copy.
  stridedConv: "transpose",
  maskPool: "argmax",
};

/**
 * The formulations the service derives with on `backend`. onnxruntime-web's WASM build runs
 * MaxPool with Indices and the scatter faster than the SpaceToDepth/ArgMax/Resize chain;
 * onnxruntime-node is the other way round (its MaxPool with Indices is a slow generic loop). The
 * Resize form of AveragePool wins on both. WebGPU has not been measured (no adapter on the
 * benchmark machine) and gets the WASM choices.
 */
export function formulationsFor(backend: "wasm" | "webgpu" | "native"): Partial<Formulations> {
  return backend === "native" ? {} : { tiledMaxPool: "generic" };
}

/** The formulation in force for `key` given the (partial) options of a derivation. */
export function formulation<K extends keyof Formulations>(
  chosen: Partial<Formulations> | undefined,
  key: K,
): Formulations[K] {
  return chosen?.[key] ?? DEFAULT_FORMULATIONS[key];
}
