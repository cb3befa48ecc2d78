/**
 * Backward formulations where several equivalent graphs exist. The defaults are the fastest
 * measured on every backend (`deno task bench`, section "Backward formulations" of
 * BENCHMARKS.md); the alternatives stay selectable so that benchmark can keep comparing them.
 */
export interface Formulations {
  /**
   * MaxPool/AveragePool whose windows tile the input (kernel = stride, no pads, no dilation):
   * "tiles" reshapes the input into [N, C, o₁, k₁, o₂, k₂, …] and compares/broadcasts there (no
   * Indices, no scatter, no ConvTranspose); "generic" uses the general formulation of the op.
   */
  tiledPool: "tiles" | "generic";
  /**
   * Strided Conv (equal strides, no dilation, 2-D): "subPixel" computes the s² phases of ∂x with
   * one stride-1 Conv and interleaves them with DepthToSpace; "transpose" is one ConvTranspose.
   */
  stridedConv: "subPixel" | "transpose";
}

export const DEFAULT_FORMULATIONS: Readonly<Formulations> = { tiledPool: "tiles", stridedConv: "subPixel" };

/** The formulation in force for `key` given the (partial) options of a derivation. */
export function formulation<K extends keyof Formulations>(
  chosen: Partial<Formulations> | undefined,
  key: K,
): Formulations[K] {
  return chosen?.[key] ?? DEFAULT_FORMULATIONS[key];
}
