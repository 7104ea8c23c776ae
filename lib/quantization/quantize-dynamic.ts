/**
 * quantizeDynamic: PyTorch's torch.ao.quantization.quantize_dynamic for int8 (qint8) on x86
 * (fbgemm): a copy of a model whose Linear and LSTM layers compute in int8.
 */
import { Linear } from '../nn/layers/linear.js';
import { LSTM } from '../nn/rnn.js';
import { deepCopy } from '../nn/copy.js';
import { Module } from '../nn/module.js';
import { KilnError } from '../errors.js';
import { describeValue } from '../validate.js';
import { DynamicQuantizedLinear } from './dynamic-linear.js';
import { DynamicQuantizedLSTM } from './dynamic-lstm.js';
import type { WeightQScheme } from './weights.js';

/** A module class (`nn.Linear` or `nn.LSTM`) or the dotted name of a submodule (`'fc1'`, `'3'`). */
export type QuantizableSpec = (abstract new (...args: never[]) => Module) | string;

/** Options of quantizeDynamic. */
export interface QuantizeDynamicOptions {
  /** The quantized type: only 'qint8' (PyTorch's default). */
  dtype?: 'qint8';
  /**
   * What to quantize, PyTorch's qconfig_spec: layer classes (every module of exactly that
   * class) and dotted submodule names (the Linear and LSTM layers at or under that name).
   * `nn.Linear` and `nn.LSTM` are supported. Default `[nn.Linear, nn.LSTM]`: the part of
   * PyTorch's default set kiln quantizes (its GRU and recurrent cells stay float32 here).
   */
  modules?: QuantizableSpec[];
  /**
   * Weight scales: one per output channel ('perChannelSymmetric') or one per weight tensor
   * ('perTensorSymmetric', PyTorch's default qconfig). Default: per channel for Linear
   * layers (more accurate, no slower), per tensor for LSTM layers (as PyTorch's LSTM).
   */
  qscheme?: WeightQScheme;
}

const QSCHEMES: readonly WeightQScheme[] = ['perChannelSymmetric', 'perTensorSymmetric'];

/**
 * A copy of `model` for int8 inference: every selected `nn.Linear` and `nn.LSTM` (exactly
 * those classes, as PyTorch's mapping) replaced by a DynamicQuantizedLinear or a
 * DynamicQuantizedLSTM holding its int8 weights; the rest
 * (convolutions, activations, …) is copied unchanged and stays float32. The original model
 * is untouched. The copy is in eval mode and runs inference only (train() throws; a forward
 * whose input requires grad throws). A layer that reads a Linear child's weight directly
 * instead of calling it must be left out (select the others by name).
 *
 * Args: model; options.dtype ('qint8'), options.modules (default [nn.Linear, nn.LSTM]),
 * options.qscheme (default per channel for Linear, per tensor for LSTM).
 *
 * Example:
 * ```ts
 * const qmodel = quantization.quantizeDynamic(model, { dtype: 'qint8', modules: [nn.Linear, nn.LSTM] });
 * const logits = qmodel.forward(images);   // Linear and LSTM layers in int8, the rest in float32
 * ```
 */
export function quantizeDynamic(model: Linear, options?: QuantizeDynamicOptions): DynamicQuantizedLinear;
export function quantizeDynamic(model: LSTM, options?: QuantizeDynamicOptions): DynamicQuantizedLSTM;
export function quantizeDynamic<M extends Module>(model: M, options?: QuantizeDynamicOptions): M;
export function quantizeDynamic<M extends Module>(model: M, options: QuantizeDynamicOptions = {}): M | DynamicQuantizedLinear | DynamicQuantizedLSTM {
  const op = 'quantizeDynamic';
  if (!(model instanceof Module)) throw new TypeError(`${op}: model must be a Module, got ${describeValue(model)}`);
  checkQuantizeOptions(options);
  const select = selector(model, options.modules ?? [Linear, LSTM]);
  const quantize = (layer: Module): Module =>
    layer instanceof LSTM
      ? DynamicQuantizedLSTM.fromFloat(layer, { qscheme: options.qscheme ?? 'perTensorSymmetric' })
      : DynamicQuantizedLinear.fromFloat(layer as Linear, { qscheme: options.qscheme ?? 'perChannelSymmetric' });
  const copy = deepCopy(model);
  if (select('', copy)) return quantize(copy) as M | DynamicQuantizedLinear;
  const replacements = new Map<Module, Module>();
  for (const [path, parent] of copy.namedModules()) {
    for (const [name, child] of parent.namedChildren()) {
      if (!select(path === '' ? name : `${path}.${name}`, child)) continue;
      let quantized = replacements.get(child);
      if (quantized === undefined) {
        quantized = quantize(child);
        replacements.set(child, quantized);
      }
      replaceChild(parent, name, child, quantized);
    }
  }
  return copy.eval();
}

function checkQuantizeOptions(options: QuantizeDynamicOptions): void {
  const op = 'quantizeDynamic';
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${op}: options must be an object (or omitted), got ${describeValue(options)}`);
  }
  if (options.dtype !== undefined && options.dtype !== 'qint8') {
    throw new KilnError(`${op}: dtype must be 'qint8' (float16 dynamic quantization is not supported), got ${describeValue(options.dtype)}`);
  }
  if (options.qscheme !== undefined && !QSCHEMES.includes(options.qscheme)) {
    throw new KilnError(`${op}: qscheme must be one of ${QSCHEMES.join(', ')}, got ${describeValue(options.qscheme)}`);
  }
  if (options.modules !== undefined && !Array.isArray(options.modules)) {
    throw new TypeError(`${op}: options.modules must be an Array of layer classes or submodule names, got ${describeValue(options.modules)}`);
  }
}

/** The layer classes quantizeDynamic replaces (exactly these classes, not subclasses). */
const QUANTIZABLE: readonly (abstract new (...args: never[]) => Module)[] = [Linear, LSTM];

/**
 * Whether the module at `path` is to be quantized: it is exactly an nn.Linear or nn.LSTM, and
 * its class is listed or its path is (or is under) a listed name. Throws for unsupported
 * classes and names that are not submodules of `model`.
 */
function selector(model: Module, specs: QuantizableSpec[]): (path: string, module: Module) => boolean {
  const names = new Set(model.namedModules().map(([path]) => path));
  const classes = new Set<QuantizableSpec>();
  const prefixes: string[] = [];
  for (const spec of specs) {
    if (QUANTIZABLE.includes(spec as (typeof QUANTIZABLE)[number])) classes.add(spec);
    else if (typeof spec === 'string') {
      if (!names.has(spec)) throw new KilnError(`quantizeDynamic: the model has no submodule '${spec}' (it has ${[...names].filter(Boolean).slice(0, 8).join(', ')}…)`);
      prefixes.push(spec);
    } else {
      const name = typeof spec === 'function' ? spec.name : describeValue(spec);
      throw new KilnError(`quantizeDynamic: ${name} cannot be dynamically quantized; only nn.Linear and nn.LSTM are supported`);
    }
  }
  const listed = (path: string): boolean => prefixes.some((p) => p === '' || path === p || path.startsWith(`${p}.`));
  return (path, module) => {
    const cls = module.constructor as QuantizableSpec;
    return QUANTIZABLE.includes(cls as (typeof QUANTIZABLE)[number]) && (classes.has(cls) || listed(path));
  };
}

/** Puts `quantized` where `parent` holds `child` under `name` (a property or a registered module). */
function replaceChild(parent: Module, name: string, child: Module, quantized: Module): void {
  const holder = parent as unknown as Record<string, unknown>;
  if (Object.hasOwn(holder, name) && holder[name] === child) holder[name] = quantized;
  else parent.registerModule(name, quantized);
}
