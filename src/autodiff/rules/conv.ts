/**
 * Conv. ∂x = ConvTranspose(∂y, W) with the forward's strides, dilations and group; the pads are
 * the forward's explicit (or auto_pad-resolved) pads and output_padding restores the exact input
 * size the forward floor division lost. Weight/bias gradients are not needed.
 *
 * With all strides 1 and a constant float weight, the same adjoint is a plain Conv of ∂y with
 * the kernel flipped spatially and in/out channels swapped per group, and pads d·(K−1) − p per
 * side: onnxruntime runs Conv markedly faster than ConvTranspose (ResNet-18's gradient graph was
 * about half ConvTranspose time). The flipped weight is built here, so the graph gains no ops.
 * Input layers (1 or 3 → 16..64 channels) stay ConvTranspose: there Conv's im2col over all of
 * ∂y's channels dominates, and ConvTranspose measured 1.3–3.8× faster.
 */
import { attrInt } from "../graph.ts";
import { RuleError } from "../errors.ts";
import { DataType } from "../proto.ts";
import { knownShape, numericDims } from "./shape.ts";
import type { OpRule, RuleContext } from "./types.ts";
import { transposeFit, type Window, windowOf } from "./window.ts";

function geometry(ctx: RuleContext) {
  const x = knownShape(ctx.info(0), "Conv input");
  const wShape = numericDims(knownShape(ctx.info(1), "Conv weight"), "Conv weight");
  const spatial = numericDims(x.slice(2), "Conv input");
  const win = windowOf(ctx.node, spatial, wShape.slice(2));
  return { x, wShape, spatial, win };
}

/**
 * W [Co, Ci/g, k...] → W' [Ci, Co/g, k...] with W'[gi·Ci/g + a, b, k] = W[gi·Co/g + b, a, K−1−k]:
 * the weight of the Conv (group g) that computes ∂x from ∂y.
 */
function flipConvWeight(w: ArrayLike<number>, wShape: readonly number[], group: number): Float32Array {
  const [co, cig] = wShape, kernel = wShape.slice(2);
  const cog = co / group, k = kernel.reduce((a, b) => a * b, 1);
  const out = new Float32Array(w.length);
  // Flipping every spatial axis reverses the row-major order within one kernel.
  for (let gi = 0; gi < group; gi++) {
    for (let a = 0; a < cig; a++) {
      for (let b = 0; b < cog; b++) {
        const src = ((gi * cog + b) * cig + a) * k, dst = ((gi * cig + a) * cog + b) * k;
        for (let j = 0; j < k; j++) out[dst + j] = w[src + k - 1 - j];
      }
    }
  }
  return out;
}

/**
 * Pads of the flipped Conv, or undefined when it does not apply or would be slower: strided
 * windows, forward pads beyond d·(K−1), or more than 4× as many ∂y as ∂x channels per group
 * with a kernel larger than 1×1 (no im2col for 1×1).
 */
function flippedPads(win: Window, wShape: readonly number[], group: number): number[] | undefined {
  if (win.strides.some((s) => s !== 1)) return undefined;
  if (win.kernel.some((k) => k > 1) && wShape[0] / group > 4 * wShape[1]) return undefined;
  const reach = win.kernel.map((k, i) => win.dilations[i] * (k - 1));
  const pads = [...win.padBegin.map((p, i) => reach[i] - p), ...win.padEnd.map((p, i) => reach[i] - p)];
  return pads.every((p) => p >= 0) ? pads : undefined;
}

export const convRule: OpRule = {
  infer(ctx) {
    const { x, wShape, win } = geometry(ctx);
    return [{ shape: [x[0], wShape[0], ...win.out], elemType: ctx.info(0).elemType }];
  },
  backward(ctx, [g]) {
    if (ctx.active(1) || ctx.active(2)) throw new RuleError("Conv weights depend on the pixels");
    const { wShape, spatial, win } = geometry(ctx);
    const group = attrInt(ctx.node, "group", 1);
    const w = ctx.info(1);
    const pads = flippedPads(win, wShape, group);
    const weights = pads && (w.floats?.() ??
      (w.elemType === DataType.FLOAT && w.value?.every((v) => typeof v === "number")
        ? w.value as number[]
        : undefined));
    if (pads && weights) {
      const flipped = flipConvWeight(weights, wShape, group);
      const dx = ctx.b.op(
        "Conv",
        [g!, ctx.b.constF32(flipped, [wShape[1] * group, wShape[0] / group, ...win.kernel])],
        {
          kernel_shape: { ints: win.kernel },
          dilations: { ints: win.dilations },
          group: { i: group },
          pads: { ints: pads },
        },
      );
      return [dx];
    }
    const fit = transposeFit(win, spatial);
    const dx = ctx.b.op("ConvTranspose", [g!, ctx.input(1)], {
      kernel_shape: { ints: win.kernel },
      strides: { ints: win.strides },
      dilations: { ints: win.dilations },
      group: { i: group },
      pads: { ints: fit.pads },
      output_padding: { ints: fit.outputPadding },
    });
    return [dx];
  },
};
