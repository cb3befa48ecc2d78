/**
 * Resize (opset 10+) and Upsample (opset 9), modes nearest and linear. Both are separable: along
 * each resized axis y = M·x with a constant matrix M [out, in] (one-hot rows for nearest, two
 * weights per row for linear), so ∂x applies Mᵀ axis by axis (axis_matrix.ts). M follows
 * onnxruntime: output size from `sizes` or floor(in·scale); x_orig from
 * coordinate_transformation_mode (half_pixel, pytorch_half_pixel, align_corners, asymmetric,
 * tf_half_pixel_for_nn, half_pixel_symmetric) with the given scale (or out/in when `sizes` is
 * given); nearest rounds by nearest_mode, linear clamps x_orig to [0, in − 1]. Before opset 11
 * (Upsample, Resize-10) coordinates are asymmetric and nearest takes floor (ceil when
 * downsampling), as onnxruntime does. Rejected: cubic, tf_crop_and_resize, antialias, and
 * scales/sizes that are not constant.
 */
import { attrFloats, attrInt, attrInts, attrString } from "../graph.ts";
import { RuleError } from "../errors.ts";
import { backAlongAxis } from "./axis_matrix.ts";
import { knownShape, normAxis, numericDims } from "./shape.ts";
import type { Dim, OpRule, RuleContext } from "./types.ts";

interface Plan {
  x: Dim[];
  out: Dim[];
  /** Per axis: the scale used for coordinates (undefined: not resized). */
  scales: (number | undefined)[];
}

/** A constant scales/sizes input; a symbolic entry is allowed only where it equals the input's dim. */
function constValues(ctx: RuleContext, i: number): Dim[] | undefined {
  if (!ctx.has(i)) return undefined;
  const v = ctx.info(i).value;
  if (!v) throw new RuleError("Resize scales/sizes must be constant");
  return v.length === 0 ? undefined : v;
}

function plan(ctx: RuleContext): Plan {
  const x = knownShape(ctx.info(0), "Resize input");
  const r = x.length;
  let scales: Dim[] | undefined, sizes: Dim[] | undefined;
  if (ctx.node.op_type === "Upsample") scales = ctx.opset >= 9 ? constValues(ctx, 1) : attrFloats(ctx.node, "scales");
  else if (ctx.opset === 10) scales = constValues(ctx, 1);
  else {
    scales = constValues(ctx, 2);
    sizes = constValues(ctx, 3);
  }
  const axes = (ctx.opset >= 18 ? attrInts(ctx.node, "axes") : undefined)?.map((a) => normAxis(a, r)) ??
    x.map((_, i) => i);
  const full = (v: Dim[] | undefined, fill: (i: number) => Dim) =>
    v && x.map((_, i) => (axes.includes(i) ? v[axes.indexOf(i)] : fill(i)));
  const fullScales = full(scales, () => 1);
  const fullSizes = full(sizes, (i) => x[i]);
  if (!fullScales && !fullSizes) throw new RuleError("Resize without scales or sizes");
  if (fullSizes && ctx.opset >= 18 && attrString(ctx.node, "keep_aspect_ratio_policy", "stretch") !== "stretch") {
    throw new RuleError("Resize keep_aspect_ratio_policy other than stretch");
  }
  const out: Dim[] = [], used: (number | undefined)[] = [];
  x.forEach((d, i) => {
    const s = fullScales?.[i], size = fullSizes?.[i];
    if ((s === 1 && size === undefined) || (size !== undefined && size === d)) {
      out.push(d);
      used.push(undefined);
      return;
    }
    const n = numericDims([d], "resized axis")[0];
    const o = size !== undefined
      ? numericDims([size], "Resize sizes")[0]
      : Math.floor(n * numericDims([s!], "Resize scales")[0]);
    out.push(o);
    used.push(size !== undefined ? o / n : s as number);
  });
  return { x, out, scales: used };
}

type Transform = (xr: number, scale: number, inLen: number, outLen: number) => number;

const TRANSFORMS: Record<string, Transform> = {
  half_pixel: (xr, s) => (xr + 0.5) / s - 0.5,
  pytorch_half_pixel: (xr, s, _i, o) => (o > 1 ? (xr + 0.5) / s - 0.5 : 0),
  align_corners: (xr, _s, i, o) => (o === 1 ? 0 : (xr * (i - 1)) / (o - 1)),
  asymmetric: (xr, s) => xr / s,
  tf_half_pixel_for_nn: (xr, s) => (xr + 0.5) / s,
  half_pixel_symmetric: (xr, s, i, o) => {
    const adjustment = o / (s * i), center = i / 2;
    return center * (1 - adjustment) + (xr + 0.5) / s - 0.5;
  },
};

const NEAREST: Record<string, (v: number, down: boolean) => number> = {
  round_prefer_floor: (v) => (v - Math.floor(v) === 0.5 ? Math.floor(v) : Math.round(v)),
  round_prefer_ceil: (v) => Math.round(v),
  floor: Math.floor,
  ceil: Math.ceil,
  simple: (v, down) => (down ? Math.ceil(v) : Math.trunc(v)),
};

/** The [out, in] interpolation matrix along one axis. */
function axisMatrix(ctx: RuleContext, inLen: number, outLen: number, scale: number): Float32Array {
  const legacy = ctx.node.op_type === "Upsample" || ctx.opset < 11;
  const mode = attrString(ctx.node, "mode", "nearest");
  const coord = legacy ? "asymmetric" : attrString(ctx.node, "coordinate_transformation_mode", "half_pixel");
  const transform = TRANSFORMS[coord];
  if (!transform) throw new RuleError(`Resize coordinate_transformation_mode ${coord}`);
  if (ctx.opset >= 18 && attrInt(ctx.node, "antialias", 0) === 1) throw new RuleError("Resize with antialias");
  const m = new Float32Array(outLen * inLen);
  for (let j = 0; j < outLen; j++) {
    const xo = transform(j, scale, inLen, outLen);
    if (mode === "nearest") {
      const rounding = NEAREST[legacy ? "simple" : attrString(ctx.node, "nearest_mode", "round_prefer_floor")];
      if (!rounding) throw new RuleError("Resize nearest_mode");
      const k = Math.min(inLen - 1, Math.max(0, rounding(xo, scale < 1)));
      m[j * inLen + k] = 1;
    } else if (mode === "linear") {
      const c = Math.min(inLen - 1, Math.max(0, xo));
      const k0 = Math.floor(c), k1 = Math.min(k0 + 1, inLen - 1), w1 = c - k0;
      m[j * inLen + k0] += 1 - w1;
      m[j * inLen + k1] += w1;
    } else throw new RuleError(`Resize mode ${mode}`);
  }
  return m;
}

export const resizeRule: OpRule = {
  infer(ctx) {
    return [{ shape: plan(ctx).out, elemType: ctx.info(0).elemType }];
  },
  backward(ctx, [g]) {
    const { x, out, scales } = plan(ctx);
    let cur = g!;
    scales.forEach((s, a) => {
      if (s === undefined) return;
      const inLen = numericDims([x[a]], "resized axis")[0], outLen = out[a] as number;
      cur = backAlongAxis(ctx.b, cur, a, x.length, axisMatrix(ctx, inLen, outLen, s), outLen, inLen);
    });
    return [cur, ...ctx.node.input.slice(1).map(() => undefined)];
  },
};
