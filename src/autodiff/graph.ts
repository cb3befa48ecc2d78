/**
 * Attribute access on decoded nodes and a `GraphBuilder` that emits new nodes/initializers with
 * formulations valid at the model's own default-domain opset (axes as attributes vs inputs, etc.).
 */
import {
  type AttributeProto,
  AttributeProtoType,
  DataType,
  type NodeProto,
  NodeProtoType,
  type TensorProto,
  toNumber,
  type ValueInfoProto,
  ValueInfoProtoType,
} from "./proto.ts";
import { makeTensor } from "./tensor.ts";

const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

function findAttr(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

/** Integer attribute, or `fallback` when absent. */
export function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = findAttr(node, name);
  return a ? toNumber(a.i) : fallback;
}

/** Float attribute, or `fallback` when absent. */
export function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = findAttr(node, name);
  return a?.f ?? fallback;
}

/** Integer-list attribute, or undefined when absent. */
export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = findAttr(node, name);
  return a ? a.ints.map(toNumber) : undefined;
}

/** Float-list attribute, or undefined when absent. */
export function attrFloats(node: NodeProto, name: string): number[] | undefined {
  const a = findAttr(node, name);
  return a ? Array.from(a.floats) : undefined;
}

/** String attribute (UTF-8), or `fallback` when absent. */
export function attrString(node: NodeProto, name: string, fallback: string): string {
  const a = findAttr(node, name);
  return a?.s ? new TextDecoder().decode(a.s) : fallback;
}

/** Tensor attribute (e.g. Constant's `value`). */
export function attrTensor(node: NodeProto, name: string): TensorProto | undefined {
  return findAttr(node, name)?.t;
}

/** A new attribute value; the variant fixes the ONNX attribute type. */
export type AttrValue =
  | { f: number }
  | { i: number }
  | { s: string }
  | { ints: readonly number[] }
  | { floats: readonly number[] }
  | { t: TensorProto };

function makeAttr(name: string, v: AttrValue): AttributeProto {
  let fields: Record<string, unknown>;
  if ("f" in v) fields = { type: AttrType.FLOAT, f: v.f };
  else if ("i" in v) fields = { type: AttrType.INT, i: v.i };
  else if ("s" in v) fields = { type: AttrType.STRING, s: new TextEncoder().encode(v.s) };
  else if ("ints" in v) fields = { type: AttrType.INTS, ints: [...v.ints] };
  else if ("floats" in v) fields = { type: AttrType.FLOATS, floats: [...v.floats] };
  else fields = { type: AttrType.TENSOR, t: v.t };
  return AttributeProtoType.create({ name, ...fields }) as unknown as AttributeProto;
}

/** Create a default-domain NodeProto. */
export function makeNode(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attrs: Record<string, AttrValue> = {},
  name = "",
): NodeProto {
  return NodeProtoType.create({
    op_type: opType,
    input: [...inputs],
    output: [...outputs],
    name,
    attribute: Object.entries(attrs).map(([k, v]) => makeAttr(k, v)),
  }) as unknown as NodeProto;
}

/** Appends nodes to a graph under fresh names; helpers pick the opset-appropriate signature. */
/** A tensor value info: element type and dims, a string dim being symbolic (e.g. the batch "N"). */
export function valueInfo(name: string, elemType: number, dims: readonly (number | string)[]): ValueInfoProto {
  return ValueInfoProtoType.fromObject({
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) },
      },
    },
  }) as unknown as ValueInfoProto;
}

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly used: Set<string>;
  private counter = 0;

  constructor(readonly opset: number, usedNames: Iterable<string>, private readonly prefix = "ad") {
    this.used = new Set(usedNames);
  }

  /** A tensor name not used anywhere in the graph so far. */
  fresh(hint: string): string {
    let name: string;
    do name = `${this.prefix}/${hint}_${this.counter++}`; while (this.used.has(name));
    this.used.add(name);
    return name;
  }

  /** Emit one node; returns its outputs (fresh names). */
  opN(opType: string, inputs: readonly string[], outputs: number, attrs: Record<string, AttrValue> = {}): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(opType));
    this.nodes.push(makeNode(opType, inputs, outs, attrs, this.fresh(`${opType}_node`)));
    return outs;
  }

  /** Emit a single-output node; returns the output name. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}): string {
    return this.opN(opType, inputs, 1, attrs)[0];
  }

  /** A float32 initializer. */
  constF32(values: ArrayLike<number>, dims: readonly number[]): string {
    const name = this.fresh("c");
    this.initializers.push(makeTensor(name, DataType.FLOAT, dims, values));
    return name;
  }

  /** An int64 initializer; 1-D when `dims` is omitted. */
  constI64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const name = this.fresh("i");
    this.initializers.push(makeTensor(name, DataType.INT64, dims, values));
    return name;
  }

  /** ReduceSum over `axes` (axes became an input at opset 13). */
  reduceSum(x: string, axes: readonly number[], keepdims: boolean): string {
    return this.reduce("ReduceSum", 13, x, axes, keepdims);
  }

  /** ReduceMean over `axes` (axes became an input at opset 18). */
  reduceMean(x: string, axes: readonly number[], keepdims: boolean): string {
    return this.reduce("ReduceMean", 18, x, axes, keepdims);
  }

  /** ReduceMax over `axes` (axes became an input at opset 18). */
  reduceMax(x: string, axes: readonly number[], keepdims: boolean): string {
    return this.reduce("ReduceMax", 18, x, axes, keepdims);
  }

  private reduce(op: string, inputSince: number, x: string, axes: readonly number[], keepdims: boolean): string {
    const k = { i: keepdims ? 1 : 0 };
    return this.opset >= inputSince
      ? this.op(op, [x, this.constI64(axes)], { keepdims: k })
      : this.op(op, [x], { axes: { ints: axes }, keepdims: k });
  }

  /** Unsqueeze (axes became an input at opset 13). */
  unsqueeze(x: string, axes: readonly number[]): string {
    return this.opset >= 13
      ? this.op("Unsqueeze", [x, this.constI64(axes)])
      : this.op("Unsqueeze", [x], { axes: { ints: axes } });
  }

  /** Slice with step 1 (attributes before opset 10, inputs from 10). */
  slice(x: string, starts: readonly number[], ends: readonly number[], axes: readonly number[]): string {
    return this.opset >= 10
      ? this.op("Slice", [x, this.constI64(starts), this.constI64(ends), this.constI64(axes)])
      : this.op("Slice", [x], { starts: { ints: starts }, ends: { ints: ends }, axes: { ints: axes } });
  }

  /** Constant-mode Pad; `pads` = [begin..., end...] (pads/value became inputs at opset 11). */
  pad(x: string, pads: readonly number[], value: number): string {
    if (this.opset >= 11) {
      return this.op("Pad", [x, this.constI64(pads), this.constF32([value], [])], { mode: { s: "constant" } });
    }
    return this.op("Pad", [x], { mode: { s: "constant" }, pads: { ints: pads }, value: { f: value } });
  }

  /** Reshape to a static shape (0 = copy that input dim, -1 = infer). */
  reshape(x: string, shape: readonly number[]): string {
    return this.op("Reshape", [x, this.constI64(shape)]);
  }

  /** Float equality as a bool tensor; float Equal only exists from opset 11. */
  equalF(a: string, b: string): string {
    if (this.opset >= 11) return this.op("Equal", [a, b]);
    return this.op("Not", [this.op("Or", [this.op("Less", [a, b]), this.op("Greater", [a, b])])]);
  }

  /** Bool → float32 0/1. */
  toFloat(x: string): string {
    return this.op("Cast", [x], { to: { i: DataType.FLOAT } });
  }
}
