/**
 * The ONNX operators kiln's importer runs, each written with kiln's differentiable ops so a
 * loaded model can be fine-tuned. One entry per op_type: (inputs, attributes) → outputs.
 */
import * as F from '../nn/functional.js';
import { conv1d, conv2d, convTranspose2d } from '../ops/conv.js';
import { zeros } from '../ops/creation.js';
import { abs, add, clamp, div, eq, erf, exp, ge, gt, le, log, lt, maximum, minimum, mul, neg, pow, reciprocal, sqrt, sub, where } from '../ops/elementwise.js';
import { indexSelect } from '../ops/index.js';
import { matmul } from '../ops/matmul.js';
import { mean, sum } from '../ops/reduce.js';
import { avgPool1d, avgPool2d, globalAvgPool2d, maxPool1d, maxPool2d } from '../ops/pool.js';
import { rnnLayer, type RnnLayerWeights } from '../ops/rnn.js';
import { cat, expand, narrow, permute, reshape, select, slice, squeeze, stack, transpose, unsqueeze } from '../ops/shape.js';
import { broadcastShapes, formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { AttributeType, OnnxError, type AttributeProto, type NodeProto } from './proto.js';
import { tensorFromProto } from './tensor-proto.js';

/** A node's attributes by name, decoded. */
export class Attributes {
  private readonly byName: Map<string, AttributeProto>;

  /** Args: the node whose attributes these are (named in errors). */
  constructor(private readonly node: NodeProto) {
    this.byName = new Map((node.attribute ?? []).map((a) => [a.name, a]));
  }

  /** The attribute, checked to have the given AttributeType; undefined when absent. */
  private get(name: string, type: number): AttributeProto | undefined {
    const a = this.byName.get(name);
    if (a !== undefined && a.type !== type) throw new OnnxError(`onnx.load: attribute '${name}' of ${describeNode(this.node)} has type ${a.type}, expected ${type}`);
    return a;
  }

  /** An INT attribute, or fallback when absent. */
  int(name: string, fallback: number): number {
    return Number(this.get(name, AttributeType.INT)?.i ?? fallback);
  }

  /** A FLOAT attribute, or fallback when absent. */
  float(name: string, fallback: number): number {
    return this.get(name, AttributeType.FLOAT)?.f ?? fallback;
  }

  /** An INTS attribute, or fallback when absent. */
  ints(name: string, fallback: number[] | null = null): number[] | null {
    const a = this.get(name, AttributeType.INTS);
    return a === undefined ? fallback : (a.ints ?? []).map(Number);
  }

  /** A FLOATS attribute, or null when absent. */
  floats(name: string): number[] | null {
    const a = this.get(name, AttributeType.FLOATS);
    return a === undefined ? null : (a.floats ?? []);
  }

  /** A STRING attribute (UTF-8), or fallback when absent. */
  string(name: string, fallback: string): string {
    const a = this.get(name, AttributeType.STRING);
    return a === undefined ? fallback : new TextDecoder().decode(a.s);
  }

  /** A STRINGS attribute, or null when absent. */
  strings(name: string): string[] | null {
    const a = this.get(name, AttributeType.STRINGS);
    return a === undefined ? null : (a.strings ?? []).map((s) => new TextDecoder().decode(s));
  }

  /** Whether the node sets the attribute. */
  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** A TENSOR attribute as a kiln tensor, or null when absent. */
  tensor(name: string): Tensor | null {
    const a = this.get(name, AttributeType.TENSOR);
    return a === undefined ? null : tensorFromProto(a.t!, `attribute '${name}' of ${describeNode(this.node)}`);
  }
}

/** `Conv 'conv1'` style name of a node for messages. */
export function describeNode(node: NodeProto): string {
  return `${node.op_type} '${node.name ?? node.output[0]}'`;
}

/** A node's inputs (null for omitted optional ones) and attributes. */
export interface OpCall {
  node: NodeProto;
  inputs: (Tensor | null)[];
  attributes: Attributes;
}

type Operator = (call: OpCall) => (Tensor | null)[];

/** The i-th input, which must be present. */
function need(call: OpCall, i: number): Tensor {
  const t = call.inputs[i];
  if (t === null || t === undefined) throw new OnnxError(`onnx.load: ${describeNode(call.node)} needs input ${i}`);
  return t;
}

/** An integer tensor's values as numbers. */
function intValues(t: Tensor): number[] {
  return Array.from(t.data as ArrayLike<number>, Number);
}

function fail(call: OpCall, what: string): never {
  throw new OnnxError(`onnx.load: ${describeNode(call.node)}: ${what} is not supported by kiln`);
}

/** Symmetric pads [begin…, end…] → per-dim padding; asymmetric pads are rejected. */
function symmetricPads(call: OpCall, dims: number): number[] {
  const autoPad = call.attributes.string('auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') fail(call, `auto_pad ${autoPad}`);
  const pads = call.attributes.ints('pads', Array(2 * dims).fill(0))!;
  const begin = pads.slice(0, dims);
  if (autoPad === 'VALID') return Array(dims).fill(0);
  if (begin.some((p, i) => p !== pads[dims + i])) fail(call, `asymmetric pads [${pads}]`);
  return begin;
}

const unary = (fn: (x: Tensor) => Tensor): Operator => (call) => [fn(need(call, 0))];
const binary = (fn: (a: Tensor, b: Tensor) => Tensor): Operator => (call) => [fn(need(call, 0), need(call, 1))];
/** Max / Min / Sum of any number of inputs, folded pairwise. */
const variadic = (fn: (a: Tensor, b: Tensor) => Tensor): Operator => (call) => [call.inputs.map((_, i) => need(call, i)).reduce(fn)];

function gemm(call: OpCall): Tensor[] {
  const a = call.attributes;
  const alpha = a.float('alpha', 1);
  const beta = a.float('beta', 1);
  let A = need(call, 0);
  let B = need(call, 1);
  const C = call.inputs[2] ?? null;
  if (a.int('transA', 0)) A = transpose(A, 0, 1);
  if (alpha === 1 && beta === 1 && a.int('transB', 0)) return [F.linear(A, B, C)];
  if (a.int('transB', 0)) B = transpose(B, 0, 1);
  let y = matmul(A, B);
  if (alpha !== 1) y = mul(y, alpha);
  if (C !== null) y = add(y, beta === 1 ? C : mul(C, beta));
  return [y];
}

function conv(call: OpCall): Tensor[] {
  const [x, w, b] = [need(call, 0), need(call, 1), call.inputs[2] ?? null];
  const dims = w.ndim - 2;
  const stride = call.attributes.ints('strides', Array(dims).fill(1))!;
  const dilation = call.attributes.ints('dilations', Array(dims).fill(1))!;
  const groups = call.attributes.int('group', 1);
  const autoPad = call.attributes.string('auto_pad', 'NOTSET');
  const pads = autoPad === 'VALID' ? Array(2 * dims).fill(0) : call.attributes.ints('pads', Array(2 * dims).fill(0))!;
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') fail(call, `auto_pad ${autoPad}`);
  if (dims === 1) return [conv1d(x, w, b, { stride: stride[0], dilation: dilation[0], groups, padding: [pads[0], pads[1]] })];
  if (dims === 2) {
    const padding = [pads[0], pads[2], pads[1], pads[3]] as const; // [top, bottom, left, right]
    return [conv2d(x, w, b, { stride: [stride[0], stride[1]], dilation: [dilation[0], dilation[1]], groups, padding })];
  }
  return fail(call, `a ${dims}-d convolution`);
}

function convTranspose(call: OpCall): Tensor[] {
  const [x, w, b] = [need(call, 0), need(call, 1), call.inputs[2] ?? null];
  if (w.ndim !== 4) fail(call, `a ${w.ndim - 2}-d transposed convolution`);
  if (call.attributes.has('output_shape')) fail(call, 'output_shape');
  const [ph, pw] = symmetricPads(call, 2);
  const stride = call.attributes.ints('strides', [1, 1])!;
  const dilation = call.attributes.ints('dilations', [1, 1])!;
  const outputPadding = call.attributes.ints('output_padding', [0, 0])!;
  const options = {
    stride: [stride[0], stride[1]] as const,
    padding: [ph, pw] as const,
    dilation: [dilation[0], dilation[1]] as const,
    outputPadding: [outputPadding[0], outputPadding[1]] as const,
    groups: call.attributes.int('group', 1),
  };
  return [convTranspose2d(x, w, b, options)];
}

function pool(kind: 'max' | 'avg'): Operator {
  return (call) => {
    if (call.node.output.length > 1 && call.node.output[1] !== '') fail(call, 'the Indices output');
    const x = need(call, 0);
    const kernel = call.attributes.ints('kernel_shape')!;
    const dims = kernel.length;
    const stride = call.attributes.ints('strides', Array(dims).fill(1))!;
    const padding = symmetricPads(call, dims);
    const ceilMode = call.attributes.int('ceil_mode', 0) === 1;
    const countIncludePad = call.attributes.int('count_include_pad', 0) === 1;
    const dilation = call.attributes.ints('dilations', Array(dims).fill(1))!;
    if (kind === 'avg' && dilation.some((d) => d !== 1)) fail(call, 'dilated average pooling');
    if (dims === 1) {
      return [kind === 'max' ? maxPool1d(x, kernel[0], { stride: stride[0], padding: padding[0], dilation: dilation[0], ceilMode }) : avgPool1d(x, kernel[0], { stride: stride[0], padding: padding[0], ceilMode, countIncludePad })];
    }
    if (dims !== 2) fail(call, `${dims}-d pooling`);
    const k = [kernel[0], kernel[1]] as const;
    const s = [stride[0], stride[1]] as const;
    const p = [padding[0], padding[1]] as const;
    return [kind === 'max' ? maxPool2d(x, k, { stride: s, padding: p, dilation: [dilation[0], dilation[1]], ceilMode }) : avgPool2d(x, k, { stride: s, padding: p, ceilMode, countIncludePad })];
  };
}

function flatten(call: OpCall): Tensor[] {
  const x = need(call, 0);
  let axis = call.attributes.int('axis', 1);
  if (axis < 0) axis += x.ndim;
  const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  return [reshape(x, [outer, -1])];
}

function reshapeOp(call: OpCall): Tensor[] {
  const x = need(call, 0);
  const target = intValues(need(call, 1));
  const allowZero = call.attributes.int('allowzero', 0) === 1;
  return [reshape(x, target.map((s, i) => (s === 0 && !allowZero ? x.shape[i] : s)))];
}

function axisOf(x: Tensor, axis: number): number {
  return axis < 0 ? axis + x.ndim : axis;
}

/** Axes from the input (opset ≥ 13) or the attribute (earlier opsets). */
function axesOf(call: OpCall, index: number): number[] | null {
  const given = call.inputs[index];
  return given !== null && given !== undefined ? intValues(given) : call.attributes.ints('axes');
}

function squeezeOp(call: OpCall): Tensor[] {
  const x = need(call, 0);
  const axes = axesOf(call, 1) ?? x.shape.flatMap((s, i) => (s === 1 ? [i] : []));
  const sorted = axes.map((a) => axisOf(x, a)).sort((a, b) => b - a);
  return [sorted.reduce((t, a) => squeeze(t, a), x)];
}

function unsqueezeOp(call: OpCall): Tensor[] {
  const x = need(call, 0);
  const axes = axesOf(call, 1)!;
  const rank = x.ndim + axes.length;
  const sorted = axes.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
  return [sorted.reduce((t, a) => unsqueeze(t, a), x)];
}

function gather(call: OpCall): Tensor[] {
  const [data, indices] = [need(call, 0), need(call, 1)];
  const axis = axisOf(data, call.attributes.int('axis', 0));
  const fixed = intValues(indices).map((i) => (i < 0 ? i + data.shape[axis] : i));
  if (indices.ndim === 0) return [select(data, axis, fixed[0])];
  if (axis === 0 && data.ndim === 2 && data.dtype !== 'int32' && fixed.every((v, i) => v === (indices.data as ArrayLike<number>)[i])) return [F.embedding(indices, data)];
  const flat = indexSelect(data, axis, new Tensor(Int32Array.from(fixed), [fixed.length], 'int32'));
  return [reshape(flat, [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)])];
}

function sliceOp(call: OpCall): Tensor[] {
  const x = need(call, 0);
  const starts = intValues(need(call, 1));
  const ends = intValues(need(call, 2));
  const axes = call.inputs[3] ? intValues(call.inputs[3]) : starts.map((_, i) => i);
  const steps = call.inputs[4] ? intValues(call.inputs[4]) : starts.map(() => 1);
  let y = x;
  axes.forEach((a, i) => {
    const axis = axisOf(x, a);
    const size = x.shape[axis];
    if (steps[i] < 1) fail(call, `step ${steps[i]}`);
    const clampIndex = (v: number): number => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
    y = slice(y, axis, clampIndex(starts[i]), clampIndex(ends[i]), steps[i]);
  });
  return [y];
}

function clip(call: OpCall): Tensor[] {
  const min = call.inputs[1] ? (call.inputs[1].data as Float32Array)[0] : call.attributes.float('min', -Infinity);
  const max = call.inputs[2] ? (call.inputs[2].data as Float32Array)[0] : call.attributes.float('max', Infinity);
  return [clamp(need(call, 0), Number.isFinite(min) ? min : undefined, Number.isFinite(max) ? max : undefined)];
}

function constant(call: OpCall): Tensor[] {
  const a = call.attributes;
  const t = a.tensor('value');
  if (t !== null) return [t];
  if (a.has('value_float')) return [new Tensor(Float32Array.of(a.float('value_float', 0)), [], 'float32')];
  if (a.has('value_floats')) return [new Tensor(Float32Array.from(a.floats('value_floats')!), [a.floats('value_floats')!.length], 'float32')];
  if (a.has('value_int')) return [new Tensor(Int32Array.of(a.int('value_int', 0)), [], 'int32')];
  if (a.has('value_ints')) return [new Tensor(Int32Array.from(a.ints('value_ints')!), [a.ints('value_ints')!.length], 'int32')];
  return fail(call, 'a Constant without a tensor, float or int value');
}

function shapeOp(call: OpCall): Tensor[] {
  const x = need(call, 0);
  return [new Tensor(Int32Array.from(x.shape), [x.ndim], 'int32')];
}

function constantOfShape(call: OpCall): Tensor[] {
  const shape = intValues(need(call, 0));
  const value = call.attributes.tensor('value');
  const v = value === null ? 0 : Number((value.data as ArrayLike<number>)[0]);
  if (value !== null && value.dtype !== 'float32') return [new Tensor(Int32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => v), shape, 'int32')];
  return [v === 0 ? zeros(shape) : add(zeros(shape), v)];
}

/**
 * ReduceMean / ReduceSum: axes from the attribute or the input (ReduceSum from opset 13,
 * ReduceMean from 18); all axes when none.
 */
function reduce(fn: (x: Tensor, dims: number[], keepdim: boolean) => Tensor): Operator {
  return (call) => {
    const x = need(call, 0);
    const keep = call.attributes.int('keepdims', 1) === 1;
    const axes = axesOf(call, 1);
    if (axes === null || axes.length === 0) {
      if (call.attributes.int('noop_with_empty_axes', 0) === 1) return [x];
      return [fn(x, x.shape.map((_, i) => i), keep)];
    }
    return [fn(x, axes.map((a) => axisOf(x, a)), keep)];
  };
}

// ---- recurrent layers -----------------------------------------------------------------------

/** ONNX gate blocks → PyTorch's: LSTM i,o,f,c → i,f,g,o; GRU z,r,h → r,z,n. */
const TO_TORCH_GATES: Record<string, number[]> = { LSTM: [0, 2, 3, 1], GRU: [1, 0, 2], RNN: [0] };

function regate(w: Tensor, order: number[], hidden: number): Tensor {
  if (order.length === 1) return w;
  return cat(order.map((g) => narrow(w, 0, g * hidden, hidden)), 0);
}

function recurrent(call: OpCall): (Tensor | null)[] {
  const op = call.node.op_type;
  const a = call.attributes;
  const H = a.int('hidden_size', 0);
  const direction = a.string('direction', 'forward');
  if (a.has('clip')) fail(call, 'clip');
  if (call.inputs[4]) fail(call, 'sequence_lens');
  if (op === 'LSTM' && (call.inputs[7] || a.int('input_forget', 0))) fail(call, 'peepholes or input_forget');
  if (op === 'GRU' && a.int('linear_before_reset', 0) !== 1) fail(call, 'linear_before_reset = 0 (kiln runs PyTorch\'s GRU)');
  const activations = a.strings('activations');
  const defaults = op === 'LSTM' ? ['Sigmoid', 'Tanh', 'Tanh'] : op === 'GRU' ? ['Sigmoid', 'Tanh'] : ['Tanh'];
  let cell: 'lstm' | 'gru' | 'tanh' | 'relu' = op === 'LSTM' ? 'lstm' : op === 'GRU' ? 'gru' : 'tanh';
  if (activations !== null) {
    const perDirection = activations.slice(0, defaults.length);
    if (op === 'RNN' && perDirection[0] === 'Relu') cell = 'relu';
    else if (perDirection.some((x, i) => x !== defaults[i])) fail(call, `activations [${activations}]`);
    if (activations.length > defaults.length && activations.slice(defaults.length).some((x, i) => x !== perDirection[i])) fail(call, 'different activations per direction');
  }
  const layout = a.int('layout', 0);
  let x = need(call, 0);
  if (layout === 1) x = transpose(x, 0, 1);
  const [W, R, B] = [need(call, 1), need(call, 2), call.inputs[3] ?? null];
  const D = direction === 'bidirectional' ? 2 : 1;
  if (direction === 'reverse') fail(call, "direction 'reverse' alone");
  const G = TO_TORCH_GATES[op].length;
  const batch = x.shape[1];
  const h0 = call.inputs[5] ?? zeros([D, batch, H]);
  const c0 = op === 'LSTM' ? (call.inputs[6] ?? zeros([D, batch, H])) : null;
  const ys: Tensor[] = [];
  const hs: Tensor[] = [];
  const cs: Tensor[] = [];
  for (let d = 0; d < D; d++) {
    const order = TO_TORCH_GATES[op];
    const bias = B === null ? null : select(B, 0, d);
    const weights: RnnLayerWeights = {
      wIh: regate(select(W, 0, d), order, H),
      wHh: regate(select(R, 0, d), order, H),
      bIh: bias === null ? null : regate(narrow(bias, 0, 0, G * H), order, H),
      bHh: bias === null ? null : regate(narrow(bias, 0, G * H, G * H), order, H),
    };
    const r = rnnLayer(cell, x, select(h0, 0, d), c0 === null ? null : select(c0, 0, d), weights, d === 1);
    ys.push(r.output);
    hs.push(r.hN);
    if (r.cN !== null) cs.push(r.cN);
  }
  let y = stack(ys, 1); // (T, D, B, H)
  if (layout === 1) y = permute(y, [2, 0, 1, 3]);
  const yh = layout === 1 ? stack(hs, 1) : stack(hs, 0);
  const yc = cs.length === 0 ? null : layout === 1 ? stack(cs, 1) : stack(cs, 0);
  return op === 'LSTM' ? [y, yh, yc] : [y, yh];
}

/** Every operator kiln imports, by op_type. */
export const OPERATORS: Record<string, Operator> = {
  Gemm: gemm,
  MatMul: binary(matmul),
  Add: binary(add),
  Sub: binary(sub),
  Mul: binary(mul),
  Div: binary(div),
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: pool('max'),
  AveragePool: pool('avg'),
  GlobalAveragePool: (call) => {
    const x = need(call, 0);
    if (x.ndim !== 4) fail(call, `input ${formatShape(x.shape)} (kiln pools (N, C, H, W))`);
    return [globalAvgPool2d(x)];
  },
  BatchNormalization: (call) => {
    if (call.attributes.int('training_mode', 0) === 1) fail(call, 'training_mode 1');
    const [x, scale, bias, mean, variance] = [0, 1, 2, 3, 4].map((i) => need(call, i));
    return [F.batchNorm(x, mean, variance, { weight: scale, bias, training: false, eps: call.attributes.float('epsilon', 1e-5) })];
  },
  LayerNormalization: (call) => {
    const x = need(call, 0);
    const axis = axisOf(x, call.attributes.int('axis', -1));
    const options = { weight: call.inputs[1] ?? null, bias: call.inputs[2] ?? null, eps: call.attributes.float('epsilon', 1e-5) };
    return [F.layerNorm(x, x.shape.slice(axis), options)];
  },
  InstanceNormalization: (call) => [F.instanceNorm(need(call, 0), { weight: need(call, 1), bias: need(call, 2), eps: call.attributes.float('epsilon', 1e-5) })],
  Relu: unary(F.relu),
  LeakyRelu: (call) => [F.leakyRelu(need(call, 0), call.attributes.float('alpha', 0.01))],
  Elu: (call) => [F.elu(need(call, 0), call.attributes.float('alpha', 1))],
  Selu: (call) => {
    const alpha = call.attributes.float('alpha', 1.67326319217681884765625);
    const gamma = call.attributes.float('gamma', 1.05070102214813232421875);
    if (Math.abs(alpha - 1.6732632423543772) > 1e-6 || Math.abs(gamma - 1.0507009873554805) > 1e-6) fail(call, `alpha ${alpha}, gamma ${gamma} (kiln's SELU has the standard constants)`);
    return [F.selu(need(call, 0))];
  },
  Sigmoid: unary(F.sigmoid),
  Neg: unary(neg),
  Abs: unary(abs),
  Exp: unary(exp),
  Log: unary(log),
  Sqrt: unary(sqrt),
  Reciprocal: unary(reciprocal),
  Pow: binary(pow),
  Max: variadic(maximum),
  Equal: binary(eq),
  Less: binary(lt),
  LessOrEqual: binary(le),
  Greater: binary(gt),
  GreaterOrEqual: binary(ge),
  Not: unary((x) => eq(x, 0)),
  Where: (call) => [where(need(call, 0), need(call, 1), need(call, 2))],
  Expand: (call) => {
    const x = need(call, 0);
    return [expand(x, broadcastShapes(x.shape, intValues(need(call, 1)), 'Expand'))];
  },
  Min: variadic(minimum),
  Tanh: unary(F.tanh),
  Erf: unary(erf),
  Gelu: (call) => [F.gelu(need(call, 0), call.attributes.string('approximate', 'none') as F.GeluApproximate)],
  Softplus: unary((x) => F.softplus(x, 1, Infinity)),
  Softsign: unary(F.softsign),
  Clip: clip,
  Softmax: (call) => [F.softmax(need(call, 0), call.attributes.int('axis', -1))],
  LogSoftmax: (call) => [F.logSoftmax(need(call, 0), call.attributes.int('axis', -1))],
  ReduceMean: reduce(mean),
  ReduceSum: reduce(sum),
  Flatten: flatten,
  Reshape: reshapeOp,
  Transpose: (call) => {
    const x = need(call, 0);
    return [permute(x, call.attributes.ints('perm', x.shape.map((_, i) => x.ndim - 1 - i))!)];
  },
  Concat: (call) => [cat(call.inputs.filter((t): t is Tensor => t !== null), call.attributes.int('axis', 0))],
  Squeeze: squeezeOp,
  Unsqueeze: unsqueezeOp,
  Gather: gather,
  Slice: sliceOp,
  Shape: shapeOp,
  ConstantOfShape: constantOfShape,
  Constant: constant,
  Identity: unary((x) => x),
  Dropout: (call) => {
    if (call.node.output.length > 1 && call.node.output[1] !== '') fail(call, 'the mask output of Dropout');
    return [need(call, 0)];
  },
  LSTM: recurrent,
  GRU: recurrent,
  RNN: recurrent,
};
