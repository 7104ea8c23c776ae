/**
 * TensorProto → kiln Tensor for the importer: float data becomes float32, integer data int32
 * (kiln's index dtype for shapes, axes and token ids; values outside int32 are rejected),
 * bool becomes bool.
 */
import { Tensor } from '../tensor.js';
import { formatShape } from '../shape.js';
import { DataType, OnnxError, type TensorProto } from './proto.js';

/** A copy of bytes in an aligned buffer (protobuf byte fields may start at any offset). */
function aligned(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}

/** The kiln tensor of a TensorProto (what is named in errors: `what`). */
export function tensorFromProto(t: TensorProto, what: string): Tensor {
  const shape = (t.dims ?? []).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  if (t.data_location === 1) throw new OnnxError(`onnx.load: ${what} keeps its data in an external file, which kiln does not read`);
  const raw = t.raw_data !== undefined && t.raw_data.byteLength > 0 ? t.raw_data : null;
  let values: ArrayLike<number> | ArrayLike<bigint>;
  let dtype: 'float32' | 'int32' | 'bool' = 'float32';
  switch (t.data_type) {
    case DataType.FLOAT:
      values = raw !== null ? new Float32Array(aligned(raw)) : (t.float_data ?? []);
      break;
    case DataType.DOUBLE:
      values = raw !== null ? new Float64Array(aligned(raw)) : (t.double_data ?? []);
      break;
    case DataType.INT32:
      dtype = 'int32';
      values = raw !== null ? new Int32Array(aligned(raw)) : (t.int32_data ?? []);
      break;
    case DataType.INT64:
      dtype = 'int32';
      values = raw !== null ? new BigInt64Array(aligned(raw)) : (t.int64_data ?? []);
      break;
    case DataType.BOOL:
      dtype = 'bool';
      values = raw !== null ? raw : (t.int32_data ?? []);
      break;
    default:
      throw new OnnxError(`onnx.load: ${what} has ONNX data type ${t.data_type}; kiln reads float, double, int32, int64 and bool tensors`);
  }
  if (values.length !== count) throw new OnnxError(`onnx.load: ${what} has ${values.length} values for shape ${formatShape(shape)}`);
  const data = dtype === 'float32' ? new Float32Array(count) : dtype === 'int32' ? new Int32Array(count) : new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const v = Number(values[i]);
    if (dtype === 'int32' && (v > 2147483647 || v < -2147483648)) {
      // INT64_MAX / MIN stand for "to the end" in Slice; clamp those, reject other large values.
      if (Math.abs(v) < 2 ** 62) throw new OnnxError(`onnx.load: ${what} holds ${v}, outside kiln's int32 range`);
      data[i] = v > 0 ? 2147483647 : -2147483648;
    } else data[i] = v;
  }
  return new Tensor(data, shape, dtype);
}
