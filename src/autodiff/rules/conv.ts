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
 *
 * Strided 2-D Convs (equal strides s ≥ 2, no dilation, constant weights; formulation
 * `stridedConv: "subPixel"`) use the sub-pixel (polyphase) form of the adjoint: with t = i + p
 * (p the begin pad) written t = s·u + r, ∂x[t − p] = Σ_m W[r + s·m] ∂y[u − m], i.e. each of the s²
 * phases r is a stride-1 correlation of ∂y with the sub-kernel W[r + s·(M−1−j)], M = ⌈K/s⌉. One
 * Conv computes all phases as channels, DepthToSpace interleaves them, a Slice crops t to
 * [p, p + n). Group 1 orders channels phase-major (DCR, any opset); grouped Convs need the
 * channel-major CRD mode (opset ≥ 11). 1×1 kernels have one non-zero phase: a 1×1 Conv at ∂y's
 * resolution, then zeros are inserted by padding a [N, C, h, 1, w, 1] view.
 */
import { attrInt } from "../graph.ts";
import { RuleError } from "../errors.ts";
import { DataType } from "../proto.ts";
import { knownShape, numericDims } from "./shape.ts";
import { formulation } from "./formulations.ts";
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

/** Equal strides s ≥ 2 on both axes of a 2-D Conv without dilation, when "subPixel" is chosen. */
function subPixelStride(ctx: RuleContext, win: Window, group: number): number | undefined {
  if (formulation(ctx.formulations, "stridedConv") !== "subPixel" || win.strides.length !== 2) return undefined;
  const s = win.strides[0];
  if (s < 2 || win.strides[1] !== s || win.dilations.some((d) => d !== 1)) return undefined;
  if (group > 1 && ctx.opset < 11) return undefined;
  return s;
}

/**
 * W [Co, Ci/g, K₁, K₂] → phase weights [s²·Ci, Co/g, M₁, M₂]: output channel (c, r₁, r₂) holds
 * W[b, c, r₁ + s·(M₁−1−j₁), r₂ + s·(M₂−1−j₂)] (0 beyond the kernel); channel c·s² + r₁·s + r₂
 * (CRD) for grouped Convs, (r₁·s + r₂)·Ci + c (DCR) otherwise.
 */
function subPixelWeight(w: ArrayLike<number>, wShape: readonly number[], group: number, s: number): Float32Array {
  const [co, cig, k1, k2] = wShape;
  const cog = co / group, ci = cig * group, phases = s * s;
  const m1 = Math.ceil(k1 / s), m2 = Math.ceil(k2 / s);
  const out = new Float32Array(phases * ci * cog * m1 * m2);
  for (let gi = 0; gi < group; gi++) {
    for (let a = 0; a < cig; a++) {
      const c = gi * cig + a;
      for (let r1 = 0; r1 < s; r1++) {
        for (let r2 = 0; r2 < s; r2++) {
          const phase = r1 * s + r2;
          const oc = group > 1 ? c * phases + phase : phase * ci + c;
          for (let b = 0; b < cog; b++) {
            for (let j1 = 0; j1 < m1; j1++) {
              const q1 = r1 + s * (m1 - 1 - j1);
              if (q1 >= k1) continue;
              for (let j2 = 0; j2 < m2; j2++) {
                const q2 = r2 + s * (m2 - 1 - j2);
                if (q2 >= k2) continue;
                out[((oc * cog + b) * m1 + j1) * m2 + j2] = w[(((gi * cog + b) * cig + a) * k1 + q1) * k2 + q2];
              }
            }
          }
        }
      }
    }
  }
  return out;
}

/** Rows/columns [p, p + n) of a [N, C, have₁, have₂] tensor, zero-padded where have < p + n. */
function cropFrom(ctx: RuleContext, x: string, have: number[], begin: number[], n: readonly number[]): string {
  const b = ctx.b;
  const ends = begin.map((p, i) => Math.min(p + n[i], have[i]));
  const cropped = begin.every((p, i) => p === 0 && ends[i] === have[i]) ? x : b.slice(x, begin, ends, [2, 3]);
  const short = ends.map((e, i) => begin[i] + n[i] - e);
  return short.every((v) => v === 0) ? cropped : b.pad(cropped, [0, 0, 0, 0, 0, 0, ...short], 0);
}

function subPixelBackward(
  ctx: RuleContext,
  g: string,
  weights: ArrayLike<number>,
  geo: { wShape: number[]; spatial: number[]; win: Window },
  group: number,
  s: number,
): string {
  const b = ctx.b;
  const { wShape, spatial, win } = geo;
  const [co, cig, k1, k2] = wShape;
  const ci = cig * group;
  if (k1 === 1 && k2 === 1) {
    const flipped = flipConvWeight(weights, wShape, group);
    const low = b.op("Conv", [g, b.constF32(flipped, [ci, co / group, 1, 1])], {
      kernel_shape: { ints: [1, 1] },
      group: { i: group },
    });
    const [o1, o2] = win.out;
    const view = b.reshape(low, [0, ci, o1, 1, o2, 1]);
    const spread = b.pad(view, [0, 0, 0, 0, 0, 0, 0, 0, 0, s - 1, 0, s - 1], 0);
    return cropFrom(ctx, b.reshape(spread, [0, ci, o1 * s, o2 * s]), [o1 * s, o2 * s], win.padBegin, spatial);
  }
  const m = [k1, k2].map((k) => Math.ceil(k / s));
  // Phase rows u ∈ [0, U) with s·U ≥ p + n; the Conv yields out + padEnd rows.
  const rows = spatial.map((n, i) => Math.max(Math.ceil((n + win.padBegin[i]) / s), win.out[i]));
  const phases = b.op("Conv", [
    g,
    b.constF32(subPixelWeight(weights, wShape, group, s), [s * s * ci, co / group, ...m]),
  ], {
    kernel_shape: { ints: m },
    group: { i: group },
    pads: { ints: [m[0] - 1, m[1] - 1, rows[0] - win.out[0], rows[1] - win.out[1]] },
  });
  const full = b.op("DepthToSpace", [phases], {
    blocksize: { i: s },
    ...(group > 1 ? { mode: { s: "CRD" } } : {}),
  });
  return cropFrom(ctx, full, rows.map((u) => u * s), win.padBegin, spatial);
}

/**
 * Strided depthwise 2-D Conv (one input and one output channel per group, no dilation) under
 * `stridedDepthwise: "dilate"`: ∂y with s − 1 zeros inserted after every element, then the
 * stride-1 depthwise Conv with the flipped kernel and begin pads K − 1 − p, cut or padded to the
 * input size. onnxruntime's grouped ConvTranspose runs one small GEMM per channel; its depthwise
 * Conv does not, and the zeros cost less than that.
 */
function dilatedDepthwiseBackward(
  ctx: RuleContext,
  g: string,
  weights: ArrayLike<number>,
  geo: { wShape: number[]; spatial: number[]; win: Window },
): string | undefined {
  const b = ctx.b;
  const { wShape, spatial, win } = geo;
  const [c, , k1, k2] = wShape;
  const s = win.strides;
  const begin = [k1 - 1 - win.padBegin[0], k2 - 1 - win.padBegin[1]];
  if (begin.some((p) => p < 0)) return undefined;
  const [o1, o2] = win.out;
  // Nearest upsampling by s, then a 0/1 mask keeps each value at the top-left of its s×s cell
  // (a Pad of a [N, C, o₁, 1, o₂, 1] view does the same, measured 4× slower on onnxruntime-node).
  const length = [o1 * s[0], o2 * s[1]];
  const keep = new Float32Array(length[0] * length[1]);
  for (let i = 0; i < length[0]; i += s[0]) for (let j = 0; j < length[1]; j += s[1]) keep[i * length[1] + j] = 1;
  const upsampled = b.op("Resize", [g, b.constF32([], [0]), b.constF32([1, 1, s[0], s[1]], [4])], {
    mode: { s: "nearest" },
    coordinate_transformation_mode: { s: "asymmetric" },
    nearest_mode: { s: "floor" },
  });
  const spread = b.op("Mul", [upsampled, b.constF32(keep, [1, 1, ...length])]);
  const end = spatial.map((n, i) => n - length[i] - begin[i] + wShape[2 + i] - 1);
  const dx = b.op("Conv", [spread, b.constF32(flipConvWeight(weights, wShape, c), [c, 1, k1, k2])], {
    kernel_shape: { ints: [k1, k2] },
    group: { i: c },
    pads: { ints: [...begin, ...end.map((e) => Math.max(0, e))] },
  });
  return end.every((e) => e >= 0) ? dx : b.slice(dx, [0, 0], spatial, [2, 3]);
}

/** A 2-D depthwise Conv with stride > 1 and no dilation, when "dilate" is chosen (Resize with scales: opset ≥ 11). */
function dilatableDepthwise(ctx: RuleContext, win: Window, wShape: readonly number[], group: number): boolean {
  return formulation(ctx.formulations, "stridedDepthwise") === "dilate" && ctx.opset >= 11 &&
    win.strides.length === 2 &&
    win.strides.some((s) => s > 1) && win.dilations.every((d) => d === 1) && wShape[1] === 1 &&
    wShape[0] === group && group > 1;
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
    const constWeights = () =>
      w.floats?.() ??
        (w.elemType === DataType.FLOAT && w.value?.every((v) => typeof v === "number")
          ? w.value as number[]
          : undefined);
    const depthwiseWeights = dilatableDepthwise(ctx, win, wShape, group) && constWeights();
    const dilated = depthwiseWeights && dilatedDepthwiseBackward(ctx, g!, depthwiseWeights, { wShape, spatial, win });
    if (dilated) return [dilated];
    const stride = subPixelStride(ctx, win, group);
    const phaseWeights = stride && constWeights();
    if (stride && phaseWeights) {
      return [subPixelBackward(ctx, g!, phaseWeights, { wShape, spatial, win }, group, stride)];
    }
    const pads = flippedPads(win, wShape, group);
    const weights = pads && constWeights();
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
