/**
 * Sliding-window geometry shared by Conv and the pools, per spatial dim, following the ONNX
 * operator spec: explicit pads or auto_pad (SAME_UPPER puts the odd pad at the end, SAME_LOWER at
 * the beginning, VALID none); ceil_mode rounds the output size up but, like onnxruntime and
 * torch, drops a last window that would start inside the end padding.
 */
import { attrInt, attrInts, attrString } from "../graph.ts";
import type { NodeProto } from "../proto.ts";
import { RuleError } from "../errors.ts";

export interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  padBegin: number[];
  padEnd: number[];
  out: number[];
}

/** Geometry of a windowed op over `inSpatial`; `kernel` from the weights when not an attribute. */
export function windowOf(node: NodeProto, inSpatial: readonly number[], kernelFallback?: readonly number[]): Window {
  const r = inSpatial.length;
  const kernel = attrInts(node, "kernel_shape") ?? kernelFallback?.slice();
  if (!kernel || kernel.length !== r) throw new RuleError("kernel_shape is missing or has the wrong rank");
  const strides = attrInts(node, "strides") ?? new Array(r).fill(1);
  const dilations = attrInts(node, "dilations") ?? new Array(r).fill(1);
  const autoPad = attrString(node, "auto_pad", "NOTSET");
  const ceil = attrInt(node, "ceil_mode", 0) === 1;
  const pads = attrInts(node, "pads") ?? new Array(2 * r).fill(0);
  const w: Window = { kernel, strides, dilations, padBegin: [], padEnd: [], out: [] };
  for (let i = 0; i < r; i++) {
    const n = inSpatial[i], s = strides[i], eff = (kernel[i] - 1) * dilations[i] + 1;
    let pb = pads[i], pe = pads[i + r], out: number;
    if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
      out = Math.ceil(n / s);
      const total = Math.max(0, (out - 1) * s + eff - n);
      pb = autoPad === "SAME_UPPER" ? Math.floor(total / 2) : Math.ceil(total / 2);
      pe = total - pb;
    } else if (autoPad === "VALID") {
      pb = pe = 0;
      out = Math.ceil((n - eff + 1) / s);
    } else {
      const span = (n + pb + pe - eff) / s;
      out = (ceil ? Math.ceil(span) : Math.floor(span)) + 1;
      if (ceil && (out - 1) * s >= n + pb) out--;
    }
    if (out < 1) throw new RuleError("window larger than the padded input");
    w.padBegin.push(pb);
    w.padEnd.push(pe);
    w.out.push(out);
  }
  return w;
}

/**
 * Pads/output_padding for a ConvTranspose that maps the window outputs back onto exactly
 * `inSpatial` positions (the adjoint of the windowed op). When ceil_mode windows overhang the
 * padded input, the overhang is cropped through a larger end pad.
 */
export function transposeFit(w: Window, inSpatial: readonly number[]): { pads: number[]; outputPadding: number[] } {
  const padEnd: number[] = [], outputPadding: number[] = [];
  inSpatial.forEach((n, i) => {
    const full = (w.out[i] - 1) * w.strides[i] + (w.kernel[i] - 1) * w.dilations[i] + 1;
    const covered = full - w.padBegin[i] - w.padEnd[i];
    if (covered <= n) {
      padEnd.push(w.padEnd[i]);
      outputPadding.push(n - covered);
    } else {
      padEnd.push(full - w.padBegin[i] - n);
      outputPadding.push(0);
    }
  });
  return { pads: [...w.padBegin, ...padEnd], outputPadding };
}
