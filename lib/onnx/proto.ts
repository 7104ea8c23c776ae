/**
 * ONNX protobuf messages through protobufjs (the schema is ONNX's onnx.proto, see schema.ts):
 * the plain-object shapes kiln reads and writes, and encode / decode of a ModelProto.
 */
import protobuf from 'protobufjs/light.js';

import { KilnError } from '../errors.js';
import { onnxSchema } from './schema.js';

/**
 * An ONNX file that cannot be written, read or run, with the reason.
 *
 * Example: `try { onnx.load('model.onnx') } catch (e) { if (e instanceof onnx.OnnxError) console.log(e.message) }`.
 */
export class OnnxError extends KilnError {
  override name = 'OnnxError';
}

/** TensorProto.DataType codes kiln uses. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;

/** AttributeProto.AttributeType codes. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

/** onnx.TensorProto as a plain object (the fields kiln uses). */
export interface TensorProto {
  name?: string;
  dims?: number[];
  data_type?: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: number[];
  double_data?: number[];
  data_location?: number;
}

/** onnx.AttributeProto as a plain object. */
export interface AttributeProto {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}

/** onnx.NodeProto as a plain object. */
export interface NodeProto {
  name?: string;
  op_type: string;
  domain?: string;
  input: string[];
  output: string[];
  attribute?: AttributeProto[];
}

/** A dimension of a TensorShapeProto: a size or a symbolic name. */
export interface DimensionProto {
  dim_value?: number;
  dim_param?: string;
}

/** onnx.ValueInfoProto for a tensor value. */
export interface ValueInfoProto {
  name: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: DimensionProto[] } } };
}

/** onnx.GraphProto as a plain object. */
export interface GraphProto {
  name?: string;
  node?: NodeProto[];
  initializer?: TensorProto[];
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
}

/** onnx.ModelProto as a plain object. */
export interface ModelProto {
  ir_version?: number;
  opset_import?: { domain?: string; version?: number }[];
  producer_name?: string;
  producer_version?: string;
  graph?: GraphProto;
}

let modelType: protobuf.Type | null = null;

/** The ModelProto message type, built once from the schema. */
function modelProto(): protobuf.Type {
  modelType ??= protobuf.Root.fromJSON(onnxSchema as protobuf.INamespace).lookupType('onnx.ModelProto');
  return modelType;
}

/** Serializes a model (checked against the schema first). */
export function encodeModel(model: ModelProto): Uint8Array {
  const type = modelProto();
  const problem = type.verify(model);
  if (problem !== null) throw new OnnxError(`onnx.export: the model does not fit onnx.proto: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}

/** Parses a serialized ModelProto; int64 fields come back as numbers, bytes as Uint8Array. */
export function decodeModel(bytes: Uint8Array, source: string): ModelProto {
  const type = modelProto();
  let message: protobuf.Message;
  try {
    message = type.decode(bytes);
  } catch (err) {
    throw new OnnxError(`onnx.load: '${source}' is not an ONNX model (protobuf: ${(err as Error).message})`, { cause: err });
  }
  return type.toObject(message, { longs: Number, arrays: true }) as ModelProto;
}
