/**
 * The per-module ONNX exporters: one function per kiln layer class that appends the layer's
 * nodes to a GraphBuilder. New modules add theirs with registerExporter (kiln's own layers
 * are registered at the end of this file).
 */
import { Conv1d, Conv2d, ConvTranspose2d } from '../nn/conv.js';
import type { Module } from '../nn/module.js';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from '../nn/pooling.js';
import { GRU, LSTM, RNN, type RNNBase } from '../nn/rnn.js';
import {
  ELU, GELU, Hardtanh, LeakyReLU, LogSoftmax, ReLU, ReLU6, SELU, SiLU, Sigmoid, Softmax, Softplus, Softsign, Swish, Tanh,
} from '../nn/layers/activation.js';
import { AlphaDropout, Dropout, Dropout2d } from '../nn/layers/dropout.js';
import { Embedding, Flatten, Identity, Linear } from '../nn/layers/linear.js';
import { BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm } from '../nn/layers/normalization.js';
import { pair, type Conv2dPadding } from '../ops/conv.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { float, int, ints, str, strs, type Attribute, type GraphBuilder } from './graph-builder.js';
import { OnnxError } from './proto.js';

/** What an exporter gets: the graph, the module, its path in the model and its traced call. */
export interface ExportContext<M extends Module = Module> {
  graph: GraphBuilder;
  module: M;
  /** The module's name in the model ('' for the model itself), the prefix of its initializers. */
  path: string;
  /** The ONNX value names of the module's tensor arguments, in order. */
  inputs: string[];
  /** The traced arguments (their shapes and dtypes). */
  inputTensors: Tensor[];
  /** The traced output. */
  output: Tensor;
}

/** Appends a module's nodes to ctx.graph and returns the ONNX name of its output. */
export type ModuleExporter<M extends Module = Module> = (ctx: ExportContext<M>) => string;

type ModuleClass<M extends Module> = abstract new (...args: never[]) => M;

const exporters = new Map<ModuleClass<Module>, ModuleExporter>();

/**
 * Registers the ONNX exporter of a module class (replacing an earlier one). The exporter of
 * the nearest registered base class is used for subclasses.
 *
 * Example:
 * ```ts
 * onnx.registerExporter(MyScale, ({ graph, module, path, inputs }) => {
 *   const s = graph.floats(`${path}.scale`, [module.scale], []);
 *   return graph.node('Mul', [inputs[0], s], {}, path)[0];
 * });
 * ```
 */
export function registerExporter<M extends Module>(moduleClass: ModuleClass<M>, exporter: ModuleExporter<M>): void {
  exporters.set(moduleClass as ModuleClass<Module>, exporter as ModuleExporter);
}

/** The exporter for a module (its class's or the nearest base class's), or null. */
export function exporterFor(module: Module): ModuleExporter | null {
  for (let proto = Object.getPrototypeOf(module); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const found = exporters.get(proto.constructor as ModuleClass<Module>);
    if (found !== undefined) return found;
  }
  return null;
}

/** `${path}.${name}` (or name at the top level): the ONNX name of a module's tensor. */
const join = (path: string, name: string): string => (path === '' ? name : `${path}.${name}`);
/** The base name of a module's output values. */
const outName = (path: string, op: string): string => (path === '' ? op : `${path}.${op}`);

function unsupported(ctx: ExportContext, what: string): never {
  throw new OnnxError(`onnx.export: ${ctx.module.constructor.name} '${ctx.path}' with ${what} has no ONNX form in kiln's exporter`);
}

// ---- Linear, Embedding, Flatten, Identity, Dropout -------------------------------------------

function exportLinear(ctx: ExportContext<Linear>): string {
  const { graph, module: m, path } = ctx;
  const x = ctx.inputs[0];
  if (ctx.inputTensors[0].ndim === 2) {
    const inputs = [x, graph.initializer(join(path, 'weight'), m.weight)];
    if (m.bias !== null) inputs.push(graph.initializer(join(path, 'bias'), m.bias));
    return graph.node('Gemm', inputs, { transB: int(1) }, outName(path, 'Gemm'))[0];
  }
  // (…, in) @ (in, out): MatMul broadcasts over the leading dims.
  const wT = graph.initializer(join(path, 'weight_t'), transpose2d(m.weight));
  const [y] = graph.node('MatMul', [x, wT], {}, outName(path, 'MatMul'));
  return m.bias === null ? y : graph.node('Add', [y, graph.initializer(join(path, 'bias'), m.bias)], {}, outName(path, 'Add'))[0];
}

/** The transpose of a float32 matrix (rows, cols) → (cols, rows). */
function transpose2d(w: Tensor): Tensor {
  const [rows, cols] = w.shape;
  const src = w.data as Float32Array;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return new Tensor(out, [cols, rows], 'float32');
}

function exportEmbedding(ctx: ExportContext<Embedding>): string {
  const { graph, module: m, path } = ctx;
  const w = graph.initializer(join(path, 'weight'), m.weight);
  return graph.node('Gather', [w, ctx.inputs[0]], { axis: int(0) }, outName(path, 'Gather'))[0];
}

function exportFlatten(ctx: ExportContext<Flatten>): string {
  const { graph, module: m, path } = ctx;
  const rank = ctx.inputTensors[0].ndim;
  const start = m.startDim < 0 ? m.startDim + rank : m.startDim;
  const end = m.endDim < 0 ? m.endDim + rank : m.endDim;
  if (end === rank - 1) return graph.node('Flatten', [ctx.inputs[0]], { axis: int(start) }, outName(path, 'Flatten'))[0];
  // Keep dims before start (0 = copy), merge start..end (-1), keep the trailing sizes.
  const shape = [...Array(start).fill(0), -1, ...ctx.inputTensors[0].shape.slice(end + 1)];
  return graph.node('Reshape', [ctx.inputs[0], graph.int64s(join(path, 'shape'), shape)], {}, outName(path, 'Reshape'))[0];
}

const exportIdentity = (ctx: ExportContext): string => ctx.graph.node('Identity', [ctx.inputs[0]], {}, outName(ctx.path, 'Identity'))[0];

// ---- convolution and pooling ----------------------------------------------------------------

/** ONNX pads [begin…, end…] of a kiln conv padding, for the given kernel and dilation. */
function convPads(ctx: ExportContext, padding: Conv2dPadding | readonly [number, number] | undefined, kernel: number[], dilation: number[], stride: number[]): number[] {
  const n = kernel.length;
  if (padding === undefined || padding === 'valid') return Array(2 * n).fill(0);
  if (padding === 'same') {
    if (stride.some((s) => s !== 1)) unsupported(ctx, "padding 'same' and stride ≠ 1");
    const total = kernel.map((k, i) => dilation[i] * (k - 1));
    return [...total.map((t) => Math.floor(t / 2)), ...total.map((t) => t - Math.floor(t / 2))];
  }
  if (typeof padding === 'number') return Array(2 * n).fill(padding);
  if (n === 1) return [padding[0], padding[1]]; // conv1d: [left, right]
  if (padding.length === 2) return [padding[0], padding[1], padding[0], padding[1]];
  const [top, bottom, left, right] = padding as readonly number[];
  return [top, left, bottom, right];
}

function exportConv2d(ctx: ExportContext<Conv2d>): string {
  const { module: m } = ctx;
  const stride = pair('Conv2d', 'stride', m.options.stride ?? 1, 1);
  const dilation = pair('Conv2d', 'dilation', m.options.dilation ?? 1, 1);
  return conv(ctx, 'Conv', m.kernelSize, stride, dilation, convPads(ctx, m.options.padding, m.kernelSize, dilation, stride), m.groups);
}

function exportConv1d(ctx: ExportContext<Conv1d>): string {
  const { module: m } = ctx;
  const stride = [m.options.stride ?? 1];
  const dilation = [m.options.dilation ?? 1];
  return conv(ctx, 'Conv', [m.kernelSize], stride, dilation, convPads(ctx, m.options.padding, [m.kernelSize], dilation, stride), m.groups);
}

function exportConvTranspose2d(ctx: ExportContext<ConvTranspose2d>): string {
  const { module: m } = ctx;
  const stride = pair('ConvTranspose2d', 'stride', m.options.stride ?? 1, 1);
  const dilation = pair('ConvTranspose2d', 'dilation', m.options.dilation ?? 1, 1);
  const [ph, pw] = pair('ConvTranspose2d', 'padding', m.options.padding ?? 0, 0);
  const outputPadding = pair('ConvTranspose2d', 'outputPadding', m.options.outputPadding ?? 0, 0);
  return conv(ctx, 'ConvTranspose', m.kernelSize, stride, dilation, [ph, pw, ph, pw], m.groups, outputPadding);
}

function conv(
  ctx: ExportContext<Conv1d | Conv2d | ConvTranspose2d>,
  op: 'Conv' | 'ConvTranspose',
  kernel: number[],
  strides: number[],
  dilations: number[],
  pads: number[],
  group: number,
  outputPadding?: number[],
): string {
  const { graph, module: m, path } = ctx;
  const inputs = [ctx.inputs[0], graph.initializer(join(path, 'weight'), m.weight)];
  if (m.bias !== null) inputs.push(graph.initializer(join(path, 'bias'), m.bias));
  const attributes = { kernel_shape: ints(kernel), strides: ints(strides), dilations: ints(dilations), pads: ints(pads), group: int(group) };
  if (outputPadding !== undefined) Object.assign(attributes, { output_padding: ints(outputPadding) });
  return graph.node(op, inputs, attributes, outName(path, op))[0];
}

function exportMaxPool2d(ctx: ExportContext<MaxPool2d>): string {
  const { graph, module: m, path } = ctx;
  const kernel = pair('MaxPool2d', 'kernelSize', m.kernelSize, 1);
  const stride = pair('MaxPool2d', 'stride', m.options.stride ?? kernel, 1);
  const [ph, pw] = pair('MaxPool2d', 'padding', m.options.padding ?? 0, 0);
  const dilation = pair('MaxPool2d', 'dilation', m.options.dilation ?? 1, 1);
  const attributes = { kernel_shape: ints(kernel), strides: ints(stride), pads: ints([ph, pw, ph, pw]), dilations: ints(dilation), ceil_mode: int(m.options.ceilMode ? 1 : 0) };
  return graph.node('MaxPool', [ctx.inputs[0]], attributes, outName(path, 'MaxPool'))[0];
}

function exportAvgPool2d(ctx: ExportContext<AvgPool2d>): string {
  const { graph, module: m, path } = ctx;
  if (m.options.divisorOverride !== undefined) unsupported(ctx, 'divisorOverride');
  const kernel = pair('AvgPool2d', 'kernelSize', m.kernelSize, 1);
  const stride = pair('AvgPool2d', 'stride', m.options.stride ?? kernel, 1);
  const [ph, pw] = pair('AvgPool2d', 'padding', m.options.padding ?? 0, 0);
  const attributes = {
    kernel_shape: ints(kernel),
    strides: ints(stride),
    pads: ints([ph, pw, ph, pw]),
    ceil_mode: int(m.options.ceilMode ? 1 : 0),
    count_include_pad: int(m.options.countIncludePad ?? true ? 1 : 0),
  };
  return graph.node('AveragePool', [ctx.inputs[0]], attributes, outName(path, 'AveragePool'))[0];
}

/** Global pooling for output 1×1; a plain AveragePool when each output cell covers an equal block. */
function exportAdaptiveAvgPool2d(ctx: ExportContext<AdaptiveAvgPool2d>): string {
  const { graph, module: m, path } = ctx;
  const [, , h, w] = ctx.inputTensors[0].shape;
  const size = typeof m.outputSize === 'number' ? [m.outputSize, m.outputSize] : m.outputSize.map((s, i) => s ?? [h, w][i]);
  if (size[0] === 1 && size[1] === 1) return graph.node('GlobalAveragePool', [ctx.inputs[0]], {}, outName(path, 'GlobalAveragePool'))[0];
  if (h % size[0] !== 0 || w % size[1] !== 0) unsupported(ctx, `output ${formatShape(size)} that does not divide the input ${formatShape([h, w])}`);
  const kernel = [h / size[0], w / size[1]];
  return graph.node('AveragePool', [ctx.inputs[0]], { kernel_shape: ints(kernel), strides: ints(kernel) }, outName(path, 'AveragePool'))[0];
}

// ---- normalization --------------------------------------------------------------------------

function exportBatchNorm(ctx: ExportContext<BatchNorm1d | BatchNorm2d>): string {
  const { graph, module: m, path } = ctx;
  const mean = m.getBuffer('running_mean');
  const variance = m.getBuffer('running_var');
  if (mean === null || variance === null) unsupported(ctx, 'trackRunningStats false (batch statistics in eval mode)');
  const c = m.numFeatures;
  const inputs = [
    ctx.inputs[0],
    m.weight === null ? graph.floats(join(path, 'weight'), Array(c).fill(1)) : graph.initializer(join(path, 'weight'), m.weight),
    m.bias === null ? graph.floats(join(path, 'bias'), Array(c).fill(0)) : graph.initializer(join(path, 'bias'), m.bias),
    graph.initializer(join(path, 'running_mean'), mean),
    graph.initializer(join(path, 'running_var'), variance),
  ];
  return graph.node('BatchNormalization', inputs, { epsilon: float(m.eps) }, outName(path, 'BatchNormalization'))[0];
}

function exportLayerNorm(ctx: ExportContext<LayerNorm>): string {
  const { graph, module: m, path } = ctx;
  if (graph.opset < 17) unsupported(ctx, `opset ${graph.opset} (LayerNormalization needs opset ≥ 17)`);
  const count = m.normalizedShape.reduce((a, b) => a * b, 1);
  const inputs = [
    ctx.inputs[0],
    m.weight === null ? graph.floats(join(path, 'weight'), Array(count).fill(1), m.normalizedShape) : graph.initializer(join(path, 'weight'), m.weight),
  ];
  if (m.bias !== null) inputs.push(graph.initializer(join(path, 'bias'), m.bias));
  const attributes = { axis: int(-m.normalizedShape.length), epsilon: float(m.eps) };
  return graph.node('LayerNormalization', inputs, attributes, outName(path, 'LayerNormalization'))[0];
}

/**
 * GroupNorm as (N, C, …) → (N, G, C/G·…) → InstanceNormalization (one mean and variance per
 * sample and group) → back to (N, C, …) → per-channel affine.
 */
function exportGroupNorm(ctx: ExportContext<GroupNorm>): string {
  const { graph, module: m, path } = ctx;
  const shape = ctx.inputTensors[0].shape;
  const g = m.numGroups;
  const [grouped] = graph.node('Reshape', [ctx.inputs[0], graph.int64s(join(path, 'group_shape'), [0, g, -1])], {}, outName(path, 'Reshape'));
  const unitScale = graph.floats(join(path, 'group_scale'), Array(g).fill(1));
  const zeroBias = graph.floats(join(path, 'group_bias'), Array(g).fill(0));
  const [normed] = graph.node('InstanceNormalization', [grouped, unitScale, zeroBias], { epsilon: float(m.eps) }, outName(path, 'InstanceNormalization'));
  const [y] = graph.node('Reshape', [normed, graph.int64s(join(path, 'shape'), [0, ...shape.slice(1)])], {}, outName(path, 'Reshape'));
  if (m.weight === null) return y;
  const channelShape = [m.numChannels, ...Array(shape.length - 2).fill(1)];
  const w = graph.initializer(join(path, 'weight'), m.weight.reshape(channelShape));
  const b = graph.initializer(join(path, 'bias'), m.bias!.reshape(channelShape));
  const [scaled] = graph.node('Mul', [y, w], {}, outName(path, 'Mul'));
  return graph.node('Add', [scaled, b], {}, outName(path, 'Add'))[0];
}

// ---- activations ----------------------------------------------------------------------------

/** An exporter for an activation that is one ONNX node with fixed attributes. */
function unary<M extends Module>(op: string, attributes: (m: M) => Record<string, Attribute> = () => ({})): ModuleExporter<M> {
  return (ctx) => ctx.graph.node(op, [ctx.inputs[0]], attributes(ctx.module), outName(ctx.path, op))[0];
}

/** x·sigmoid(β·x) (SiLU for β = 1). */
function swishNodes(graph: GraphBuilder, path: string, x: string, beta: number): string {
  const scaled = beta === 1 ? x : graph.node('Mul', [x, graph.floats(join(path, 'beta'), [beta], [])], {}, outName(path, 'Mul'))[0];
  const [gate] = graph.node('Sigmoid', [scaled], {}, outName(path, 'Sigmoid'));
  return graph.node('Mul', [x, gate], {}, outName(path, 'Mul'))[0];
}

function exportSwish(ctx: ExportContext<Swish>): string {
  const { graph, module: m, path } = ctx;
  // a fixed β is private to Swish (its forward passes it to F.swish): read it as the layer does
  if (m.beta === null) return swishNodes(graph, path, ctx.inputs[0], m['fixedBeta']);
  const beta = graph.initializer(join(path, 'beta'), m.beta);
  const [scaled] = graph.node('Mul', [ctx.inputs[0], beta], {}, outName(path, 'Mul'));
  const [gate] = graph.node('Sigmoid', [scaled], {}, outName(path, 'Sigmoid'));
  return graph.node('Mul', [ctx.inputs[0], gate], {}, outName(path, 'Mul'))[0];
}

/** GELU: the Gelu operator from opset 20, else erf (or tanh) written out. */
function exportGelu(ctx: ExportContext<GELU>): string {
  const { graph, module: m, path } = ctx;
  const x = ctx.inputs[0];
  if (graph.opset >= 20) return graph.node('Gelu', [x], { approximate: str(m.approximate) }, outName(path, 'Gelu'))[0];
  const c = (name: string, v: number): string => graph.floats(join(path, name), [v], []);
  let inner: string;
  if (m.approximate === 'tanh') {
    // tanh(√(2/π)·(x + 0.044715·x³))
    const [x3] = graph.node('Mul', [x, graph.node('Mul', [x, x], {}, outName(path, 'Mul'))[0]], {}, outName(path, 'Mul'));
    const [poly] = graph.node('Add', [x, graph.node('Mul', [x3, c('k', 0.044715)], {}, outName(path, 'Mul'))[0]], {}, outName(path, 'Add'));
    [inner] = graph.node('Tanh', [graph.node('Mul', [poly, c('sqrt_2_over_pi', Math.sqrt(2 / Math.PI))], {}, outName(path, 'Mul'))[0]], {}, outName(path, 'Tanh'));
  } else {
    [inner] = graph.node('Erf', [graph.node('Div', [x, c('sqrt2', Math.SQRT2)], {}, outName(path, 'Div'))[0]], {}, outName(path, 'Erf'));
  }
  const [onePlus] = graph.node('Add', [inner, c('one', 1)], {}, outName(path, 'Add'));
  const [half] = graph.node('Mul', [x, c('half', 0.5)], {}, outName(path, 'Mul'));
  return graph.node('Mul', [half, onePlus], {}, outName(path, 'Mul'))[0];
}

function clip(ctx: ExportContext, min: number, max: number): string {
  const { graph, path } = ctx;
  const inputs = [ctx.inputs[0], graph.floats(join(path, 'min'), [min], []), graph.floats(join(path, 'max'), [max], [])];
  return graph.node('Clip', inputs, {}, outName(path, 'Clip'))[0];
}

/** softplus(βx)/β: ONNX Softplus is log(1 + exp(x)) (PyTorch's threshold only avoids overflow). */
function exportSoftplus(ctx: ExportContext<Softplus>): string {
  const { graph, module: m, path } = ctx;
  if (m.beta === 1) return graph.node('Softplus', [ctx.inputs[0]], {}, outName(path, 'Softplus'))[0];
  const beta = graph.floats(join(path, 'beta'), [m.beta], []);
  const [scaled] = graph.node('Mul', [ctx.inputs[0], beta], {}, outName(path, 'Mul'));
  const [sp] = graph.node('Softplus', [scaled], {}, outName(path, 'Softplus'));
  return graph.node('Div', [sp, beta], {}, outName(path, 'Div'))[0];
}

// ---- recurrent layers -----------------------------------------------------------------------

/** PyTorch gate blocks → ONNX gate blocks: LSTM i,f,g,o → i,o,f,c; GRU r,z,n → z,r,h. */
const GATE_ORDER: Record<RNNBase['mode'], number[]> = { lstm: [0, 3, 1, 2], gru: [1, 0, 2], tanh: [0], relu: [0] };

/** rows of w (G·H, cols) regrouped into ONNX's gate order. */
function reorderGates(w: Tensor, order: number[]): Float32Array {
  const hidden = w.shape[0] / order.length;
  const block = hidden * (w.shape.length === 2 ? w.shape[1] : 1);
  const src = w.data as Float32Array;
  const out = new Float32Array(src.length);
  order.forEach((from, to) => out.set(src.subarray(from * block, (from + 1) * block), to * block));
  return out;
}

/** One direction's (W, R, B) blocks stacked over directions: [D, G·H, ·]. */
function stackDirections(parts: Float32Array[], shape: number[]): Tensor {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return new Tensor(out, shape, 'float32');
}

/** The parameters of one layer and direction, by their PyTorch names (weight_ih_l0_reverse, …). */
function layerWeights(m: RNNBase, layer: number, direction: number): { wIh: Tensor; wHh: Tensor; bIh: Tensor | null; bHh: Tensor | null } {
  const own = new Map(m.namedParameters('', false));
  const suffix = `_l${layer}${direction === 1 ? '_reverse' : ''}`;
  return { wIh: own.get(`weight_ih${suffix}`)!, wHh: own.get(`weight_hh${suffix}`)!, bIh: own.get(`bias_ih${suffix}`) ?? null, bHh: own.get(`bias_hh${suffix}`) ?? null };
}

/**
 * LSTM / GRU / RNN: one ONNX recurrent node per layer (both directions in one node), with the
 * PyTorch gate order converted and the GRU's reset gate applied after the matmul
 * (linear_before_reset = 1, as PyTorch). Y (T, D, B, H) → (T, B, D·H) between layers.
 */
function exportRecurrent(ctx: ExportContext<RNNBase>): string {
  const { graph, module: m, path } = ctx;
  if (ctx.inputTensors.length !== 1) unsupported(ctx, 'an initial state argument (export the zero-state call)');
  if (ctx.inputTensors[0].ndim !== 3) unsupported(ctx, `unbatched input ${formatShape(ctx.inputTensors[0].shape)}`);
  const op = m.mode === 'lstm' ? 'LSTM' : m.mode === 'gru' ? 'GRU' : 'RNN';
  const order = GATE_ORDER[m.mode];
  const D = m.bidirectional ? 2 : 1;
  const H = m.hiddenSize;
  const GH = order.length * H;
  let seq = m.batchFirst ? graph.node('Transpose', [ctx.inputs[0]], { perm: ints([1, 0, 2]) }, outName(path, 'Transpose'))[0] : ctx.inputs[0];
  for (let layer = 0; layer < m.numLayers; layer++) {
    const weights = Array.from({ length: D }, (_, d) => layerWeights(m, layer, d));
    const inputSize = weights[0].wIh.shape[1];
    const W = graph.initializer(join(path, `W_l${layer}`), stackDirections(weights.map((w) => reorderGates(w.wIh, order)), [D, GH, inputSize]));
    const R = graph.initializer(join(path, `R_l${layer}`), stackDirections(weights.map((w) => reorderGates(w.wHh, order)), [D, GH, H]));
    const inputs = [seq, W, R];
    if (m.bias) {
      const biases = weights.map((w) => {
        const both = new Float32Array(2 * GH);
        both.set(reorderGates(w.bIh!, order), 0);
        both.set(reorderGates(w.bHh!, order), GH);
        return both;
      });
      inputs.push(graph.initializer(join(path, `B_l${layer}`), stackDirections(biases, [D, 2 * GH])));
    }
    const attributes: Record<string, Attribute> = { hidden_size: int(H), direction: str(D === 2 ? 'bidirectional' : 'forward') };
    if (op === 'GRU') attributes.linear_before_reset = int(1);
    if (op === 'RNN') attributes.activations = strs(Array(D).fill(m.mode === 'relu' ? 'Relu' : 'Tanh'));
    const [node] = graph.node(op, inputs, attributes, outName(path, `${op}_l${layer}`));
    // Y (T, D, B, H) → (T, B, D, H) → (T, B, D·H)
    const [moved] = graph.node('Transpose', [node], { perm: ints([0, 2, 1, 3]) }, outName(path, 'Transpose'));
    [seq] = graph.node('Reshape', [moved, graph.int64s(join(path, 'seq_shape'), [0, 0, -1])], {}, outName(path, 'Reshape'));
  }
  return m.batchFirst ? graph.node('Transpose', [seq], { perm: ints([1, 0, 2]) }, outName(path, 'Transpose'))[0] : seq;
}

// ---- kiln's layers --------------------------------------------------------------------------

registerExporter(Linear, exportLinear);
registerExporter(Embedding, exportEmbedding);
registerExporter(Flatten, exportFlatten);
registerExporter(Identity, exportIdentity);
registerExporter(Dropout, exportIdentity);
registerExporter(Dropout2d, exportIdentity);
registerExporter(AlphaDropout, exportIdentity);
registerExporter(Conv1d, exportConv1d);
registerExporter(Conv2d, exportConv2d);
registerExporter(ConvTranspose2d, exportConvTranspose2d);
registerExporter(MaxPool2d, exportMaxPool2d);
registerExporter(AvgPool2d, exportAvgPool2d);
registerExporter(AdaptiveAvgPool2d, exportAdaptiveAvgPool2d);
registerExporter(BatchNorm1d, exportBatchNorm);
registerExporter(BatchNorm2d, exportBatchNorm);
registerExporter(LayerNorm, exportLayerNorm);
registerExporter(GroupNorm, exportGroupNorm);
registerExporter(ReLU, unary('Relu'));
registerExporter(Sigmoid, unary('Sigmoid'));
registerExporter(Tanh, unary('Tanh'));
registerExporter(SELU, unary('Selu'));
registerExporter(Softsign, unary('Softsign'));
registerExporter(LeakyReLU, unary<LeakyReLU>('LeakyRelu', (m) => ({ alpha: float(m.negativeSlope) })));
registerExporter(ELU, unary<ELU>('Elu', (m) => ({ alpha: float(m.alpha) })));
registerExporter(Softmax, unary<Softmax>('Softmax', (m) => ({ axis: int(m.dim) })));
registerExporter(LogSoftmax, unary<LogSoftmax>('LogSoftmax', (m) => ({ axis: int(m.dim) })));
registerExporter(GELU, exportGelu);
registerExporter(SiLU, (ctx) => swishNodes(ctx.graph, ctx.path, ctx.inputs[0], 1));
registerExporter(Swish, exportSwish);
registerExporter(ReLU6, (ctx) => clip(ctx, 0, 6));
registerExporter(Hardtanh, (ctx: ExportContext<Hardtanh>) => clip(ctx, ctx.module.minVal, ctx.module.maxVal));
registerExporter(Softplus, exportSoftplus);
registerExporter(LSTM, exportRecurrent);
registerExporter(GRU, exportRecurrent);
registerExporter(RNN, exportRecurrent);

