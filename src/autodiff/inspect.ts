/**
 * Model inspection: op histogram, opset, I/O specs, and which ops on the pixel path lack a
 * gradient rule. Without a manifest the spec defaults to unit scale, mean 0, std 1, the layout
 * guessed from the input shape (channels 1 or 3 at axis 1 → NCHW, at axis 3 → NHWC), the first
 * graph output as logits.
 */
import { valueInfoShape } from "./analyze.ts";
import { deriveGradientModel, type GradientSpec } from "./derive.ts";
import { NotDifferentiableError, type UnsupportedNode } from "./errors.ts";
import { decodeModel, defaultOpset, type ModelProto, toNumber, type ValueInfoProto } from "./proto.ts";
import type { Dim } from "./rules/types.ts";

export interface ValueSpec {
  name: string;
  dims: Dim[];
  /** ONNX TensorProto.DataType. */
  elemType: number;
}

export interface ModelInspection {
  opset: number;
  irVersion: number;
  producer: string;
  /** op type (domain-qualified when not the default domain) → node count. */
  ops: Record<string, number>;
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  /** Op types on the pixel → logits path without a gradient rule (default spec). */
  unsupported: string[];
}

function valueSpec(v: ValueInfoProto): ValueSpec {
  return { name: v.name ?? "", dims: valueInfoShape(v) ?? [], elemType: v.type?.tensor_type?.elem_type ?? 0 };
}

function feeds(model: ModelProto): ValueInfoProto[] {
  const inits = new Set(model.graph?.initializer.map((t) => t.name) ?? []);
  return model.graph?.input.filter((v) => !inits.has(v.name)) ?? [];
}

/** The spec assumed when no manifest is given (see module doc). */
export function defaultSpec(modelBytes: Uint8Array): GradientSpec {
  const model = decodeModel(modelBytes);
  const input = feeds(model)[0];
  const output = model.graph?.output[0];
  if (!input || !output) throw new Error("model has no input or no output");
  const dims = valueInfoShape(input) ?? [];
  if (dims.length !== 4) throw new Error(`input "${input.name}" is not 4-D: [${dims}]`);
  const nhwc = (dims[3] === 1 || dims[3] === 3) && dims[1] !== 1 && dims[1] !== 3;
  const [c, h, w] = nhwc ? [dims[3], dims[1], dims[2]] : [dims[1], dims[2], dims[3]];
  if (typeof c !== "number" || typeof h !== "number" || typeof w !== "number") {
    throw new Error(`input "${input.name}" needs static C, H, W (got [${dims}]); pass a manifest`);
  }
  return {
    input: {
      name: input.name ?? "",
      layout: nhwc ? "NHWC" : "NCHW",
      channels: c,
      height: h,
      width: w,
      scale: "unit",
      mean: new Array(c).fill(0),
      std: new Array(c).fill(1),
    },
    output: { name: output.name ?? "", kind: "logits" },
  };
}

/** Nodes on the pixel → logits path that have no gradient rule (empty when derivable). */
export function findUnsupportedOps(modelBytes: Uint8Array, spec?: GradientSpec): UnsupportedNode[] {
  try {
    deriveGradientModel(modelBytes, spec ?? defaultSpec(modelBytes), { loss: "ce" });
    return [];
  } catch (e) {
    if (e instanceof NotDifferentiableError) return e.nodes;
    throw e;
  }
}

/** Summary of a model; `unsupported` uses `spec` or the default spec. */
export function inspectModel(modelBytes: Uint8Array, spec?: GradientSpec): ModelInspection {
  const model = decodeModel(modelBytes);
  const ops: Record<string, number> = {};
  for (const n of model.graph?.node ?? []) {
    const key = n.domain && n.domain !== "ai.onnx" ? `${n.domain}.${n.op_type}` : n.op_type ?? "";
    ops[key] = (ops[key] ?? 0) + 1;
  }
  return {
    opset: defaultOpset(model),
    irVersion: toNumber(model.ir_version),
    producer: [model.producer_name, model.producer_version].filter(Boolean).join(" "),
    ops,
    inputs: feeds(model).map(valueSpec),
    outputs: (model.graph?.output ?? []).map(valueSpec),
    unsupported: [...new Set(findUnsupportedOps(modelBytes, spec).map((n) => n.opType))].sort(),
  };
}
