/**
 * ONNX protobuf I/O. The schema is `onnx.proto` beside this file (IR 10, onnx/onnx upstream),
 * parsed by protobufjs at import time; no generated code. int64 fields decode to `Long` objects
 * (protobufjs' default when `long` is installed) so values such as INT64_MAX survive a
 * decode → encode round trip; use `toNumber` when reading them.
 */
import protobuf from "protobufjs";

const schemaText: string = Deno.readTextFileSync(new URL("./onnx.proto", import.meta.url));
const root: protobuf.Root = protobuf.parse(schemaText, { keepCase: true }).root;

/** protobufjs message types from the schema, for creating new messages. */
export const ModelProtoType: protobuf.Type = root.lookupType("onnx.ModelProto");
export const NodeProtoType: protobuf.Type = root.lookupType("onnx.NodeProto");
export const TensorProtoType: protobuf.Type = root.lookupType("onnx.TensorProto");
export const AttributeProtoType: protobuf.Type = root.lookupType("onnx.AttributeProto");
export const ValueInfoProtoType: protobuf.Type = root.lookupType("onnx.ValueInfoProto");

/** int64 as decoded (Long) or as written by us (number). */
export type Int64 = number | { toNumber(): number; toString(): string };

export interface StringStringEntryProto {
  key?: string;
  value?: string;
}
export interface OperatorSetIdProto {
  domain?: string;
  version?: Int64;
}
export interface TensorProto {
  dims: Int64[];
  data_type?: number;
  float_data: number[];
  int32_data: number[];
  int64_data: Int64[];
  double_data: number[];
  uint64_data: Int64[];
  string_data: Uint8Array[];
  name?: string;
  raw_data?: Uint8Array;
  data_location?: number;
  external_data: StringStringEntryProto[];
}
export interface AttributeProto {
  name?: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats: number[];
  ints: Int64[];
  strings: Uint8Array[];
  graphs: GraphProto[];
}
export interface NodeProto {
  input: string[];
  output: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  attribute: AttributeProto[];
}
export interface DimensionProto {
  dim_value?: Int64;
  dim_param?: string;
}
export interface TypeProto {
  tensor_type?: { elem_type?: number; shape?: { dim: DimensionProto[] } };
}
export interface ValueInfoProto {
  name?: string;
  type?: TypeProto;
}
export interface GraphProto {
  node: NodeProto[];
  name?: string;
  initializer: TensorProto[];
  sparse_initializer: unknown[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  value_info: ValueInfoProto[];
}
export interface ModelProto {
  ir_version?: Int64;
  opset_import: OperatorSetIdProto[];
  producer_name?: string;
  producer_version?: string;
  graph?: GraphProto;
  functions: unknown[];
}

/** ONNX TensorProto.DataType values used here. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;

/** Decode ONNX model bytes. The result is a protobufjs message; `encodeModel` writes it back. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  return ModelProtoType.decode(bytes) as unknown as ModelProto;
}

/** Encode a model (a decoded message, or a plain object following the schema). */
export function encodeModel(model: ModelProto): Uint8Array {
  const msg = model instanceof protobuf.Message
    ? model
    : ModelProtoType.fromObject(model as unknown as Record<string, unknown>);
  const out = ModelProtoType.encode(msg).finish();
  // protobufjs hands back a Node Buffer. A small one is a view into Node's shared Buffer pool, which cannot be
  // transferred (postMessage throws, killing the Worker that replies with a small derived model): copy it out.
  const view = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  return view.byteLength === view.buffer.byteLength ? view : view.slice();
}

/** Int64 (Long or number) → number. Values beyond 2^53 lose precision, fine for dims/axes. */
export function toNumber(v: Int64 | undefined | null): number {
  if (v === undefined || v === null) return 0;
  return typeof v === "number" ? v : v.toNumber();
}

/** Default-domain opset version imported by the model (1 if absent, per the ONNX IR). */
export function defaultOpset(model: ModelProto): number {
  const entry = model.opset_import.find((o) => !o.domain || o.domain === "ai.onnx");
  return entry ? toNumber(entry.version) : 1;
}
