/**
 * GraphBuilder: collects the nodes and initializers of an ONNX graph while modules are
 * exported, with unique value names and typed attribute helpers.
 */
import type { Tensor } from '../tensor.js';
import { AttributeType, DataType, OnnxError, type AttributeProto, type NodeProto, type TensorProto } from './proto.js';

/** An attribute value with its ONNX type (see int, float, ints, floats, str). */
export type Attribute =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'ints'; value: readonly number[] }
  | { type: 'floats'; value: readonly number[] }
  | { type: 'string'; value: string }
  | { type: 'strings'; value: readonly string[] };

/** An INT attribute. Example: `{ transB: int(1) }`. */
export const int = (value: number): Attribute => ({ type: 'int', value });
/** A FLOAT attribute. Example: `{ alpha: float(0.01) }`. */
export const float = (value: number): Attribute => ({ type: 'float', value });
/** An INTS attribute. Example: `{ kernel_shape: ints([3, 3]) }`. */
export const ints = (value: readonly number[]): Attribute => ({ type: 'ints', value });
/** A FLOATS attribute. Example: `{ activation_alpha: floats([1]) }`. */
export const floats = (value: readonly number[]): Attribute => ({ type: 'floats', value });
/** A STRING attribute. Example: `{ direction: str('forward') }`. */
export const str = (value: string): Attribute => ({ type: 'string', value });

/** A STRINGS attribute. Example: `{ activations: strs(['Tanh']) }`. */
export const strs = (value: readonly string[]): Attribute => ({ type: 'strings', value });

/** The ONNX element type of a kiln dtype: float32 values, int32 / int64 indices (kiln's ONNX graphs compute in float32). */
export function onnxElemType(dtype: Tensor['dtype'], what: string): number {
  switch (dtype) {
    case 'float32':
      return DataType.FLOAT;
    case 'int32':
      return DataType.INT32;
    case 'int64':
      return DataType.INT64;
    default:
      throw new OnnxError(`onnx.export: ${what} has dtype ${dtype}; ONNX export supports float32 values and int32 / int64 indices (cast the model with model.float())`);
  }
}

/**
 * The nodes and initializers of one graph under construction.
 *
 * Example: in an exporter, `const [y] = ctx.graph.node('Relu', [ctx.inputs[0]])`.
 */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly names = new Set<string>();

  /** Args: the opset the graph is written for (exporters pick operator forms from it). */
  constructor(readonly opset: number) {}

  /** A value name not used yet in this graph, derived from base. */
  uniqueName(base: string): string {
    let name = base;
    for (let k = 1; this.names.has(name); k++) name = `${base}_${k}`;
    this.names.add(name);
    return name;
  }

  /** Adds a float32, int32 or int64 tensor as an initializer and returns its (unique) name. */
  initializer(base: string, t: Tensor): string {
    const name = this.uniqueName(base);
    const elemType = onnxElemType(t.dtype, `tensor '${base}'`);
    const data = t.data as Float32Array | Int32Array | BigInt64Array;
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    this.initializers.push({ name, dims: [...t.shape], data_type: elemType, raw_data: raw });
    return name;
  }

  /** Adds an int64 initializer (the shape / axes inputs of Reshape, Squeeze, ...). */
  int64s(base: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const name = this.uniqueName(base);
    this.initializers.push({ name, dims: [...dims], data_type: DataType.INT64, int64_data: [...values] });
    return name;
  }

  /** Adds a float32 initializer from plain numbers. */
  floats(base: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const name = this.uniqueName(base);
    this.initializers.push({ name, dims: [...dims], data_type: DataType.FLOAT, float_data: [...values] });
    return name;
  }

  /**
   * Adds a node and returns its output names ('' inputs are ONNX's omitted optional inputs).
   *
   * Example: `const [y] = g.node('Relu', [x], {}, 'fc.relu')`.
   */
  node(opType: string, inputs: readonly string[], attributes: Record<string, Attribute> = {}, base = opType, outputs = 1): string[] {
    const names = Array.from({ length: outputs }, (_, k) => this.uniqueName(outputs === 1 ? base : `${base}_${k}`));
    const attribute = Object.entries(attributes).map(([name, a]) => toAttributeProto(name, a));
    this.nodes.push({ name: this.uniqueName(`${base}_node`), op_type: opType, input: [...inputs], output: names, attribute });
    return names;
  }

  /**
   * Drops the nodes none of whose outputs reach `outputs`, and the initializers no kept node
   * reads (what an exporter or a traced composite op computed that the model does not use).
   */
  prune(outputs: readonly string[]): void {
    const needed = new Set(outputs);
    const kept: NodeProto[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i];
      if (!node.output.some((o) => needed.has(o))) continue;
      kept.push(node);
      for (const input of node.input) needed.add(input);
    }
    this.nodes.splice(0, this.nodes.length, ...kept.reverse());
    const used = this.initializers.filter((t) => needed.has(t.name!));
    this.initializers.splice(0, this.initializers.length, ...used);
  }
}

function toAttributeProto(name: string, a: Attribute): AttributeProto {
  switch (a.type) {
    case 'int':
      return { name, type: AttributeType.INT, i: a.value };
    case 'float':
      return { name, type: AttributeType.FLOAT, f: a.value };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: [...a.value] };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: [...a.value] };
    case 'string':
      return { name, type: AttributeType.STRING, s: new TextEncoder().encode(a.value) };
    case 'strings':
      return { name, type: AttributeType.STRINGS, strings: a.value.map((v) => new TextEncoder().encode(v)) };
  }
}
