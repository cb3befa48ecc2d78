/**
 * Pooling. MaxPool has two backward formulations (option `maxPool`):
 * - "indices": the forward MaxPool also emits Indices (flat NCHW offsets, as onnxruntime does);
 *   ∂y is scatter-added onto those offsets (ScatterElements reduction=add, opset ≥ 16). Below
 *   opset 16 there is no scatter-add: non-overlapping windows use a plain scatter, overlapping
 *   windows fall back to "mask". storage_order=1 also falls back to "mask". Non-overlapping
 *   windows put ∂y on the Indices with one MaxUnpool instead (formulation `maxPoolSpread`).
 * - "mask" (no Indices output; onnxruntime-web WebGPU rejects it): windows are extracted with a
 *   one-hot depthwise Conv over the input padded with the lowest float, compared with the pooled
 *   max, and the FIRST equal element in row-major window order gets ∂y (the forward's tie rule
 *   in onnxruntime and torch); a ConvTranspose with the same one-hot kernel sums it back. With
 *   formulation `maskPool: "argmax"` (default) ArgMax of the patches picks that element directly
 *   (the first maximum is the first element equal to the max) instead of ArgMax of (patch == y).
 * AveragePool: ∂x = ConvTranspose(∂y · r / cnt, ones) where cnt = real (non-pad) elements per
 * window and r = AveragePool(ones) from the runtime itself, so r/cnt = 1/divisor whatever the
 * count_include_pad / ceil_mode divisor convention is. Global pools spread ∂y over H·W (average)
 * or put it on the first maximal element (max).
 *
 * Square 2-D windows that tile the input (k×k, stride k, no pads, no dilation, no ceil_mode
 * overhang, opset ≥ 11 — the 2×2/2 pools of most CNNs) can take a cheaper route in either mode
 * (formulations `tiledMaxPool` / `tiledAveragePool: "tiles"`; rules/formulations.ts says where).
 * MaxPool: SpaceToDepth lays the input out as [N, k², C, o₁·o₂] with window element (a, b) in
 * block a·k + b, i.e. row-major window order; ArgMax over that axis returns the FIRST maximal
 * element (the same tie rule as above); a nearest Resize by k spreads the winner's slot and ∂y
 * over each window and ∂x = (slot of the element == winner) · ∂y. No Indices output, no scatter.
 * AveragePool: ∂x = nearest Resize of ∂y/k². Rows/columns beyond the last whole window (floor
 * mode) get 0. Measured on onnxruntime's CPU kernels and not kept: a 6-D reshape with broadcast
 * compares (2–3× slower than the scatter: broadcasting over interleaved axes runs per element), a
 * Transpose into window-major order (costlier than the scatter it saves), DepthToSpace instead of
 * Resize and MaxUnpool on rebuilt flat indices (both slower than Resize); for the rank formulation,
 * strided Slices per window position with nested Wheres at the pooled size (about 12% slower:
 * onnxruntime's strided Slice is a generic copy).
 */
import { attrInt, type GraphBuilder } from "../graph.ts";
import { RuleError } from "../errors.ts";
import { DataType, type NodeProto, NodeProtoType } from "../proto.ts";
import { makeTensor } from "../tensor.ts";
import { knownShape, numericDims } from "./shape.ts";
import { formulation } from "./formulations.ts";
import type { Dim, OpRule, RuleContext } from "./types.ts";
import { transposeFit, type Window, windowOf } from "./window.ts";

const LOWEST_F32 = -3.4028234663852886e38;

function pooled(ctx: RuleContext): { x: Dim[]; channels: number; spatial: number[]; win: Window } {
  const x = knownShape(ctx.info(0), "pool input");
  const spatial = numericDims(x.slice(2), "pool input");
  const channels = numericDims([x[1]], "pool channels")[0];
  return { x, channels, spatial, win: windowOf(ctx.node, spatial) };
}

function windowsOverlap(win: Window): boolean {
  return win.kernel.some((k, i) => (k - 1) * win.dilations[i] + 1 > win.strides[i]);
}

/**
 * Square 2-D windows that tile the input (kernel = stride, no pads/dilation/overhang) under
 * `tiledMaxPool` / `tiledAveragePool` (`key`) "tiles".
 */
function tiled(
  ctx: RuleContext,
  win: Window,
  spatial: readonly number[],
  key: "tiledMaxPool" | "tiledAveragePool",
): boolean {
  return formulation(ctx.formulations, key) !== "generic" && ctx.opset >= 11 && win.kernel.length === 2 &&
    win.kernel[0] === win.kernel[1] &&
    win.kernel.every((k, i) =>
      k === win.strides[i] && win.dilations[i] === 1 && win.padBegin[i] === 0 && win.padEnd[i] === 0 &&
      win.out[i] * k <= spatial[i]
    );
}

function useIndices(ctx: RuleContext, win: Window, spatial: readonly number[]): boolean {
  return ctx.maxPool === "indices" && attrInt(ctx.node, "storage_order", 0) === 0 &&
    (ctx.opset >= 16 || !windowsOverlap(win)) && !tiled(ctx, win, spatial, "tiledMaxPool");
}

/** The input cut to its whole windows. */
function coveredInput(ctx: RuleContext, spatial: readonly number[], win: Window): string {
  const covered = win.out.map((o, i) => o * win.kernel[i]);
  if (covered.every((n, i) => n === spatial[i])) return ctx.input(0);
  return ctx.b.slice(ctx.input(0), covered.map(() => 0), covered, covered.map((_, i) => i + 2));
}

/** [N, C, …covered] → [N, C, …spatial], zeros beyond the last whole window. */
function padToInput(ctx: RuleContext, dx: string, spatial: readonly number[], win: Window): string {
  const covered = win.out.map((o, i) => o * win.kernel[i]);
  if (covered.every((n, i) => n === spatial[i])) return dx;
  return ctx.b.pad(dx, [0, 0, ...covered.map(() => 0), 0, 0, ...covered.map((n, i) => spatial[i] - n)], 0);
}

/** Nearest upsampling by k along both spatial axes (Resize, opset ≥ 11): each value fills its window. */
function upsample(ctx: RuleContext, x: string, k: number): string {
  const b = ctx.b;
  return b.op("Resize", [x, b.constF32([], [0]), b.constF32([1, 1, k, k], [4])], {
    mode: { s: "nearest" },
    coordinate_transformation_mode: { s: "asymmetric" },
    nearest_mode: { s: "floor" },
  });
}

function maxPoolTiles(ctx: RuleContext, g: string): string {
  const b = ctx.b;
  const { channels: c, spatial, win } = pooled(ctx);
  const k = win.kernel[0];
  const covered = win.out.map((o) => o * k);
  // SpaceToDepth puts element (a, b) of every window in channel block a·k + b: [N, k², C, o₁·o₂].
  const windows = b.reshape(b.op("SpaceToDepth", [coveredInput(ctx, spatial, win)], { blocksize: { i: k } }), [
    0,
    k * k,
    c,
    win.out[0] * win.out[1],
  ]);
  // ArgMax returns the FIRST maximal element in row-major window order: the forward's tie rule.
  const first = b.op("ArgMax", [windows], { axis: { i: 1 }, keepdims: { i: 1 } });
  const winner = upsample(ctx, b.reshape(b.toFloat(first), [0, c, ...win.out]), k);
  // Position of each input element inside its window, a·k + b.
  const slots = new Float32Array(covered[0] * covered[1]);
  for (let i = 0; i < covered[0]; i++) {
    for (let j = 0; j < covered[1]; j++) slots[i * covered[1] + j] = (i % k) * k + (j % k);
  }
  const hit = b.op("Equal", [winner, b.constF32(slots, [1, 1, ...covered])]);
  return padToInput(ctx, b.op("Where", [hit, upsample(ctx, g, k), b.constF32([0], [])]), spatial, win);
}

/**
 * Tiles without ArgMax: each element equal to its window's max is ranked top − (its offset from
 * the window's origin in the [H, W] plane), which falls along row-major window order; everything
 * else ranks 0. A plain MaxPool of the ranks finds the FIRST maximal element of every window (the
 * forward's tie rule), top − rank is its offset back, and MaxUnpool puts ∂y on that flat index.
 * Both MaxPools are onnxruntime's fast kernel (no Indices output).
 */
function maxPoolPriority(ctx: RuleContext, g: string): string {
  const b = ctx.b;
  const { channels: c, spatial, win } = pooled(ctx);
  const k = win.kernel[0];
  const [h, w] = spatial;
  const [oh, ow] = win.out;
  const covered = win.out.map((o) => o * k);
  const top = (k - 1) * w + k;
  const rank = new Float32Array(covered[0] * covered[1]);
  for (let i = 0; i < covered[0]; i++) {
    for (let j = 0; j < covered[1]; j++) rank[i * covered[1] + j] = top - ((i % k) * w + (j % k));
  }
  const isMax = b.equalF(coveredInput(ctx, spatial, win), upsample(ctx, ctx.node.output[0], k));
  // Cast + Mul: about 5% faster than a Where with a broadcast constant on onnxruntime-node.
  const ranked = b.op("Mul", [b.toFloat(isMax), b.constF32(rank, [1, 1, ...covered])]);
  const best = b.op("MaxPool", [ranked], { kernel_shape: { ints: [k, k] }, strides: { ints: [k, k] } });
  // Flat index = n·C·H·W + (window origin + top) − best rank.
  const origins = new Array<number>(c * oh * ow);
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) origins[(ch * oh + i) * ow + j] = ch * h * w + i * k * w + j * k + top;
    }
  }
  const batch = b.op("Gather", [ctx.shapeOf(ctx.input(0)), b.constI64([0], [])]);
  const starts = b.op("Mul", [
    b.reshape(b.op("Range", [b.constI64([0], []), batch, b.constI64([1], [])]), [-1, 1, 1, 1]),
    b.constI64([c * h * w], []),
  ]);
  const within = b.op("Sub", [
    b.constI64(origins, [1, c, oh, ow]),
    b.op("Cast", [best], { to: { i: DataType.INT64 } }),
  ]);
  return b.op("MaxUnpool", [g, b.op("Add", [starts, within]), ctx.shapeOf(ctx.input(0))], {
    kernel_shape: { ints: [k, k] },
    strides: { ints: [k, k] },
  });
}

function averagePoolTiles(ctx: RuleContext, g: string): string {
  const b = ctx.b;
  const { spatial, win } = pooled(ctx);
  const k = win.kernel[0];
  return padToInput(ctx, upsample(ctx, b.op("Mul", [g, b.constF32([1 / (k * k)], [])]), k), spatial, win);
}

/** Depthwise one-hot kernel [C·K, 1, ...kernel]: output channel c·K+k picks window element k. */
function oneHotKernel(b: GraphBuilder, channels: number, kernel: number[]): string {
  const k = kernel.reduce((a, v) => a * v, 1);
  const w = new Float32Array(channels * k * k);
  for (let c = 0; c < channels; c++) for (let i = 0; i < k; i++) w[(c * k + i) * k + i] = 1;
  return b.constF32(w, [channels * k, 1, ...kernel]);
}

function scatterInto(b: GraphBuilder, zeros: string, idx: string, upd: string, axis: number, add: boolean): string {
  if (b.opset < 11) return b.op("Scatter", [zeros, idx, upd], { axis: { i: axis } });
  return b.op("ScatterElements", [zeros, idx, upd], { axis: { i: axis }, ...(add ? { reduction: { s: "add" } } : {}) });
}

function maxPoolMask(ctx: RuleContext, g: string): string {
  const b = ctx.b;
  const { channels: c, spatial, win } = pooled(ctx);
  const r = spatial.length, k = win.kernel.reduce((a, v) => a * v, 1);
  // Pad so that a pad-free Conv yields exactly the pooled size (covers ceil_mode overhang).
  const padEnd = spatial.map((n, i) =>
    Math.max(0, (win.out[i] - 1) * win.strides[i] + (win.kernel[i] - 1) * win.dilations[i] + 1 - n - win.padBegin[i])
  );
  const padded = spatial.map((n, i) => win.padBegin[i] + n + padEnd[i]);
  const xp = b.pad(ctx.input(0), [0, 0, ...win.padBegin, 0, 0, ...padEnd], LOWEST_F32);
  const kernel = oneHotKernel(b, c, win.kernel);
  const conv = {
    kernel_shape: { ints: win.kernel },
    strides: { ints: win.strides },
    dilations: { ints: win.dilations },
    group: { i: c },
  };
  const patches = b.reshape(b.op("Conv", [xp, kernel], conv), [0, c, k, ...win.out]);
  const slots = b.constI64(Array.from({ length: k }, (_, i) => i), [1, 1, k, ...new Array(r).fill(1)]);
  const gy = b.reshape(g, [0, c, 1, ...win.out]);
  let contrib: string;
  if (formulation(ctx.formulations, "maskPool") === "argmax") {
    // The first maximal patch element is the first one equal to y (pads hold the lowest float).
    const first = b.op("ArgMax", [patches], { axis: { i: 2 }, keepdims: { i: 1 } });
    contrib = b.op("Mul", [b.toFloat(b.op("Equal", [first, slots])), gy]);
  } else {
    const y = b.reshape(ctx.node.output[0], [0, c, 1, ...win.out]);
    const first = b.op("ArgMax", [b.toFloat(b.equalF(patches, y))], { axis: { i: 2 }, keepdims: { i: 1 } });
    contrib = b.op("Mul", [b.toFloat(b.op("Equal", [first, slots])), gy]);
  }
  // Channels move into the batch so the spread-back is an ungrouped ConvTranspose (K → 1): the
  // WebGPU provider of onnxruntime-web 1.30 computes grouped ConvTranspose with several input
  // channels per group wrongly, and this mode exists for WebGPU.
  contrib = b.reshape(contrib, [-1, k, ...win.out]);
  const outputPadding = padded.map((p, i) =>
    p - ((win.out[i] - 1) * win.strides[i] + (win.kernel[i] - 1) * win.dilations[i] + 1)
  );
  const spread = b.op("ConvTranspose", [contrib, oneHotKernel(b, 1, win.kernel)], {
    ...conv,
    group: { i: 1 },
    output_padding: { ints: outputPadding },
  });
  const gp = b.reshape(spread, [-1, c, ...padded]);
  const axes = spatial.map((_, i) => i + 2);
  return b.slice(gp, win.padBegin, win.padBegin.map((p, i) => p + spatial[i]), axes);
}

/**
 * A Relu whose only reader is a MaxPool: the element a window selects has Relu output = the
 * pooled max, so its Relu derivative is (pooled max > 0) and the MaxPool rule applies it to ∂y
 * at the pooled size; the Relu rule then passes its gradient through (the same values, without a
 * full-size mask). Both rules ask this one question.
 */
export function reluMaskedByMaxPool(ctx: RuleContext, relu: NodeProto): boolean {
  if (relu.op_type !== "Relu" || (relu.domain ?? "") !== "") return false;
  const readers = ctx.consumers(relu.output[0]);
  return readers.length === 1 && readers[0].op_type === "MaxPool" && (readers[0].domain ?? "") === "" &&
    readers[0].input[0] === relu.output[0];
}

export const maxPoolRule: OpRule = {
  infer(ctx) {
    const { x, win } = pooled(ctx);
    const shape = [x[0], x[1], ...win.out];
    return [{ shape, elemType: ctx.info(0).elemType }, { shape, elemType: DataType.INT64 }];
  },
  prepare(ctx) {
    const { spatial, win } = pooled(ctx);
    if (!useIndices(ctx, win, spatial)) return;
    const node = ctx.node;
    if (node.output.length < 2 || node.output[1] === "") node.output[1] = ctx.b.fresh("maxpool_indices");
  },
  backward(ctx, [gy]) {
    const { spatial, win } = pooled(ctx);
    const relu = ctx.producer(ctx.input(0));
    const g = relu && reluMaskedByMaxPool(ctx, relu)
      ? ctx.b.op("Where", [
        ctx.b.op("Greater", [ctx.node.output[0], ctx.b.constF32([0], [])]),
        gy!,
        ctx.b.constF32([0], []),
      ])
      : gy;
    if (tiled(ctx, win, spatial, "tiledMaxPool")) {
      return [
        formulation(ctx.formulations, "tiledMaxPool") === "priority" ? maxPoolPriority(ctx, g!) : maxPoolTiles(ctx, g!),
      ];
    }
    if (!useIndices(ctx, win, spatial)) return [maxPoolMask(ctx, g!)];
    const b = ctx.b;
    if (!windowsOverlap(win) && formulation(ctx.formulations, "maxPoolSpread") === "unpool") {
      // Each input element is in at most one window, so placing ∂y on its Indices is the whole backward.
      return [b.op("MaxUnpool", [g!, ctx.node.output[1], ctx.shapeOf(ctx.input(0))], {
        kernel_shape: { ints: win.kernel },
        strides: { ints: win.strides },
        pads: { ints: [...win.padBegin, ...win.padEnd] },
      })];
    }
    const flatX = b.reshape(ctx.input(0), [-1]);
    const zeros = b.op("ConstantOfShape", [b.op("Shape", [flatX])]);
    const idx = b.reshape(ctx.node.output[1], [-1]);
    const flat = scatterInto(b, zeros, idx, b.reshape(g!, [-1]), 0, ctx.opset >= 16);
    return [b.op("Reshape", [flat, ctx.shapeOf(ctx.input(0))])];
  },
};

/** Number of real (non-pad) input positions in each window along one dim. */
function realCounts(n: number, win: Window, i: number): number[] {
  return Array.from({ length: win.out[i] }, (_, o) => {
    let count = 0;
    for (let j = 0; j < win.kernel[i]; j++) {
      const p = o * win.strides[i] - win.padBegin[i] + j * win.dilations[i];
      if (p >= 0 && p < n) count++;
    }
    return count;
  });
}

export const averagePoolRule: OpRule = {
  infer(ctx) {
    const { x, win } = pooled(ctx);
    return [{ shape: [x[0], x[1], ...win.out], elemType: ctx.info(0).elemType }];
  },
  backward(ctx, [g]) {
    const b = ctx.b;
    const { channels: c, spatial, win } = pooled(ctx);
    if (tiled(ctx, win, spatial, "tiledAveragePool")) return [averagePoolTiles(ctx, g!)];
    const one = makeTensor("", DataType.FLOAT, [1], [1]);
    const ones = b.op("ConstantOfShape", [ctx.shapeOf(ctx.input(0))], { value: { t: one } });
    // The forward AveragePool (same attributes) applied to ones: r = cnt / divisor per window.
    const r = b.fresh("avgpool_ones");
    b.nodes.push(
      NodeProtoType.create({
        op_type: "AveragePool",
        input: [ones],
        output: [r],
        attribute: ctx.node.attribute,
      }) as unknown as NodeProto,
    );
    const counts = spatial.map((n, i) => realCounts(n, win, i));
    const inv = new Float32Array(win.out.reduce((a, v) => a * v, 1));
    inv.forEach((_, flat) => {
      let rest = flat, cnt = 1;
      for (let i = spatial.length - 1; i >= 0; i--) {
        cnt *= counts[i][rest % win.out[i]];
        rest = Math.floor(rest / win.out[i]);
      }
      inv[flat] = 1 / cnt;
    });
    const scaled = b.op("Mul", [b.op("Mul", [g!, r]), b.constF32(inv, [1, 1, ...win.out])]);
    const kernel = b.constF32(new Float32Array(c * win.kernel.reduce((a, v) => a * v, 1)).fill(1), [
      c,
      1,
      ...win.kernel,
    ]);
    const fit = transposeFit(win, spatial);
    return [b.op("ConvTranspose", [scaled, kernel], {
      kernel_shape: { ints: win.kernel },
      strides: { ints: win.strides },
      dilations: { ints: win.dilations },
      group: { i: c },
      pads: { ints: fit.pads },
      output_padding: { ints: fit.outputPadding },
    })];
  },
};

function globalInfer(ctx: RuleContext) {
  const x = knownShape(ctx.info(0), "global pool input");
  return [{ shape: [x[0], x[1], ...x.slice(2).map(() => 1)], elemType: ctx.info(0).elemType }];
}

export const globalAveragePoolRule: OpRule = {
  infer: globalInfer,
  backward(ctx, [g]) {
    const x = knownShape(ctx.info(0));
    const area = numericDims(x.slice(2), "GlobalAveragePool input").reduce((a, v) => a * v, 1);
    const b = ctx.b;
    return [b.op("Expand", [b.op("Div", [g!, b.constF32([area], [])]), ctx.shapeOf(ctx.input(0))])];
  },
};

export const globalMaxPoolRule: OpRule = {
  infer: globalInfer,
  backward(ctx, [g]) {
    const b = ctx.b;
    if (knownShape(ctx.info(0)).length < 3) throw new RuleError("GlobalMaxPool needs spatial dims");
    const flat = b.reshape(ctx.input(0), [0, 0, -1]);
    const first = b.op("ArgMax", [flat], { axis: { i: 2 }, keepdims: { i: 1 } });
    const zeros = b.op("ConstantOfShape", [b.op("Shape", [flat])]);
    const spread = scatterInto(b, zeros, first, b.reshape(g!, [0, 0, 1]), 2, false);
    return [b.op("Reshape", [spread, ctx.shapeOf(ctx.input(0))])];
  },
};
