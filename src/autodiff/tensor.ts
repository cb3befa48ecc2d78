/** TensorProto ↔ plain arrays. New tensors are written as little-endian raw_data. */
import { DataType, type TensorProto, TensorProtoType, toNumber } from "./proto.ts";

/** Element values of a constant tensor; numbers for every supported type (int64 via Number). */
export interface TensorValue {
  dims: number[];
  dataType: number;
  data: number[];
}

const BYTES: Record<number, number> = {
  [DataType.FLOAT]: 4,
  [DataType.UINT8]: 1,
  [DataType.INT8]: 1,
  [DataType.INT32]: 4,
  [DataType.INT64]: 8,
  [DataType.BOOL]: 1,
  [DataType.DOUBLE]: 8,
};

/** True when `readTensor` can decode this tensor (no external data, a supported type). */
export function isReadable(t: TensorProto): boolean {
  return t.data_location !== 1 && BYTES[t.data_type ?? 0] !== undefined;
}

/**
 * A float32 TensorProto's values as a Float32Array, decoded straight from raw_data (little-endian
 * per the ONNX spec) or float_data: large weights stay out of plain number arrays.
 */
export function readFloat32(t: TensorProto): Float32Array {
  if (t.data_type !== DataType.FLOAT || !isReadable(t)) throw new Error(`tensor ${t.name}: not readable float32`);
  const raw = t.raw_data;
  if (!raw || raw.length === 0) return Float32Array.from(t.float_data);
  const out = new Float32Array(raw.length / 4);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** Decode a TensorProto's values (raw_data or the typed repeated field). */
export function readTensor(t: TensorProto): TensorValue {
  const dims = t.dims.map(toNumber);
  const dataType = t.data_type ?? 0;
  const count = dims.reduce((a, b) => a * b, 1);
  if (!isReadable(t)) throw new Error(`tensor ${t.name}: unsupported storage or type ${dataType}`);
  const raw = t.raw_data;
  if (raw && raw.length > 0) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out = new Array<number>(count);
    for (let i = 0; i < count; i++) {
      switch (dataType) {
        case DataType.FLOAT:
          out[i] = view.getFloat32(i * 4, true);
          break;
        case DataType.DOUBLE:
          out[i] = view.getFloat64(i * 8, true);
          break;
        case DataType.INT64:
          out[i] = Number(view.getBigInt64(i * 8, true));
          break;
        case DataType.INT32:
          out[i] = view.getInt32(i * 4, true);
          break;
        case DataType.INT8:
          out[i] = view.getInt8(i);
          break;
        default:
          out[i] = view.getUint8(i);
      }
    }
    return { dims, dataType, data: out };
  }
  let data: number[];
  switch (dataType) {
    case DataType.FLOAT:
      data = Array.from(t.float_data);
      break;
    case DataType.DOUBLE:
      data = Array.from(t.double_data);
      break;
    case DataType.INT64:
      data = t.int64_data.map(toNumber);
      break;
    default:
      data = Array.from(t.int32_data);
  }
  if (data.length !== count) throw new Error(`tensor ${t.name}: ${data.length} values for ${count}`);
  return { dims, dataType, data };
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** Saturating number → int64: decoded INT64_MAX/MIN (rounded to ±2^63 as numbers) round-trip. */
function toInt64(v: number): bigint {
  if (v >= 2 ** 63) return INT64_MAX;
  if (v <= -(2 ** 63)) return INT64_MIN;
  return BigInt(Math.trunc(v));
}

/** Build a TensorProto (raw_data, little-endian). int64 saturates at the int64 range. */
export function makeTensor(
  name: string,
  dataType: number,
  dims: readonly number[],
  values: ArrayLike<number>,
): TensorProto {
  const size = BYTES[dataType];
  if (size === undefined) throw new Error(`makeTensor: unsupported type ${dataType}`);
  const raw = new Uint8Array(values.length * size);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    switch (dataType) {
      case DataType.FLOAT:
        view.setFloat32(i * 4, v, true);
        break;
      case DataType.DOUBLE:
        view.setFloat64(i * 8, v, true);
        break;
      case DataType.INT64:
        view.setBigInt64(i * 8, toInt64(v), true);
        break;
      case DataType.INT32:
        view.setInt32(i * 4, v, true);
        break;
      default:
        view.setUint8(i, v);
    }
  }
  return TensorProtoType.create({
    name,
    data_type: dataType,
    dims: [...dims],
    raw_data: raw,
  }) as unknown as TensorProto;
}
