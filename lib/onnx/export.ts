/**
 * onnx.export: runs the model once on a sample input in eval mode with forward hooks on every
 * module that has an exporter, links the recorded calls by tensor identity into an ONNX graph
 * and writes the ModelProto atomically.
 */
import { readFileSync } from 'node:fs';

import { noGrad } from '../autograd/grad-mode.js';
import { writeFileAtomic } from '../io/safetensors.js';
import type { Module } from '../nn/module.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { exporterFor } from './exporters.js';
import { GraphBuilder, onnxElemType } from './graph-builder.js';
import { encodeModel, OnnxError, type ModelProto, type ValueInfoProto } from './proto.js';

/** Options of onnx.export (PyTorch's torch.onnx.export names, camelCase). */
export interface ExportOptions {
  /** The ONNX opset to write, 13–20. Default 17. */
  opset?: number;
  /** Name of the graph input. Default 'input'. */
  inputNames?: [string];
  /** Name of the graph output. Default 'output'. */
  outputNames?: [string];
  /**
   * Axes left symbolic, by value name: `{ input: { 0: 'batch' }, output: { 0: 'batch' } }`
   * (or a list of axes, named `<value>_dynamic_axes_<k>`). Default none (all sizes fixed).
   */
  dynamicAxes?: Record<string, Record<number, string> | number[]>;
}

/** One traced call of a module that has an exporter. */
interface TracedCall {
  module: Module;
  path: string;
  inputs: Tensor[];
  output: unknown;
}

const MIN_OPSET = 13;
const MAX_OPSET = 20;

/**
 * Exports a model to an ONNX file that onnxruntime (and kiln's onnx.load) can run.
 *
 * The model is run once on sampleInput in eval mode under noGrad (its training flags are
 * restored afterwards). The model must be made of modules kiln can export (see
 * onnx.registerExporter): Sequential models and nested modules whose forward only passes
 * tensors from one submodule to the next; a tensor op written between modules in a custom
 * forward is reported as an error naming the module that received the unknown tensor.
 *
 * Args: model, sampleInput (one tensor, float32 or int32 indices), path, options (opset,
 * inputNames, outputNames, dynamicAxes).
 *
 * Example:
 * ```ts
 * const net = models.lenet5();
 * onnx.export(net, randn([1, 1, 28, 28]), 'lenet.onnx', { dynamicAxes: { input: { 0: 'batch' }, output: { 0: 'batch' } } });
 * ```
 */
export function exportModel(model: Module, sampleInput: Tensor, path: string, options: ExportOptions = {}): void {
  writeFileAtomic(path, exportToBytes(model, sampleInput, options));
}

/** onnx.export's ModelProto bytes without writing a file. Example: `const bytes = onnx.exportToBytes(net, x)`. */
export function exportToBytes(model: Module, sampleInput: Tensor, options: ExportOptions = {}): Uint8Array {
  const opset = options.opset ?? 17;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new OnnxError(`onnx.export: opset must be an integer in [${MIN_OPSET}, ${MAX_OPSET}], got ${opset}`);
  }
  if (!(sampleInput instanceof Tensor)) throw new OnnxError('onnx.export: sampleInput must be a Tensor');
  const inputName = options.inputNames?.[0] ?? 'input';
  const outputName = options.outputNames?.[0] ?? 'output';
  const { calls, output } = trace(model, sampleInput);
  const graph = new GraphBuilder(opset);
  graph.uniqueName(inputName);
  const names = new Map<Tensor, string>([[sampleInput, inputName]]);
  for (const call of calls) {
    const inputNames = call.inputs.map((t, k) => {
      const name = names.get(t);
      if (name === undefined) {
        throw new OnnxError(
          `onnx.export: argument ${k} ${formatShape(t.shape)} of ${call.module.constructor.name} '${call.path}' was not produced by an exported module ` +
            '(a tensor op in a custom forward between modules); kiln exports graphs made of modules only',
        );
      }
      return name;
    });
    if (!(call.output instanceof Tensor)) {
      throw new OnnxError(`onnx.export: ${call.module.constructor.name} '${call.path}' returned a ${typeof call.output}; exported modules must return one tensor`);
    }
    const exporter = exporterFor(call.module)!;
    names.set(call.output, exporter({ graph, module: call.module, path: call.path, inputs: inputNames, inputTensors: call.inputs, output: call.output }));
  }
  const last = names.get(output);
  if (last === undefined) throw new OnnxError(`onnx.export: the model's output ${formatShape(output.shape)} was not produced by an exported module`);
  graph.node('Identity', [last], {}, outputName);
  const dynamic = normalizeDynamicAxes(options.dynamicAxes ?? {}, [inputName, outputName]);
  const model_: ModelProto = {
    ir_version: irVersion(opset),
    opset_import: [{ domain: '', version: opset }],
    producer_name: 'kiln',
    producer_version: packageVersion(),
    graph: {
      name: model.constructor.name,
      node: graph.nodes,
      initializer: graph.initializers,
      input: [valueInfo(inputName, sampleInput, dynamic.get(inputName))],
      output: [valueInfo(outputName, output, dynamic.get(outputName))],
    },
  };
  return encodeModel(model_);
}

/** Runs the model on x with hooks on every exportable module; containers are traced through. */
function trace(model: Module, x: Tensor): { calls: TracedCall[]; output: Tensor } {
  const calls: TracedCall[] = [];
  const handles: { remove(): void }[] = [];
  const modes = model.modules().map((m) => [m, m.training] as const);
  let depth = 0;
  try {
    for (const [path, module] of model.namedModules()) {
      if (exporterFor(module) === null) {
        if (module.children().length === 0) {
          throw new OnnxError(`onnx.export: no ONNX exporter for ${module.constructor.name} '${path}' (register one with onnx.registerExporter)`);
        }
        continue;
      }
      handles.push(
        module.registerForwardPreHook(() => {
          depth++;
          return undefined;
        }),
        module.registerForwardHook((m, inputs, output) => {
          depth--;
          if (depth === 0) calls.push({ module: m, path, inputs: inputs.filter((a): a is Tensor => a instanceof Tensor), output });
          return undefined;
        }),
      );
    }
    model.eval();
    const output = noGrad(() => model.forward(x));
    if (!(output instanceof Tensor)) throw new OnnxError(`onnx.export: the model must return one tensor, got ${typeof output}`);
    return { calls, output };
  } finally {
    for (const h of handles) h.remove();
    for (const [m, training] of modes) m.training = training;
  }
}

function normalizeDynamicAxes(given: ExportOptions['dynamicAxes'] & object, known: string[]): Map<string, Map<number, string>> {
  const out = new Map<string, Map<number, string>>();
  for (const [name, axes] of Object.entries(given)) {
    if (!known.includes(name)) throw new OnnxError(`onnx.export: dynamicAxes names '${name}', which is neither the input nor the output (${known.join(', ')})`);
    const entries = Array.isArray(axes) ? axes.map((a) => [a, `${name}_dynamic_axes_${a + 1}`] as const) : Object.entries(axes).map(([a, n]) => [Number(a), n] as const);
    out.set(name, new Map(entries));
  }
  return out;
}

function valueInfo(name: string, t: Tensor, dynamic: Map<number, string> | undefined): ValueInfoProto {
  for (const axis of dynamic?.keys() ?? []) {
    if (!Number.isInteger(axis) || axis < 0 || axis >= t.ndim) throw new OnnxError(`onnx.export: dynamic axis ${axis} of '${name}' is out of range for shape ${formatShape(t.shape)}`);
  }
  const dim = t.shape.map((size, axis) => (dynamic?.has(axis) ? { dim_param: dynamic.get(axis)! } : { dim_value: size }));
  return { name, type: { tensor_type: { elem_type: onnxElemType(t.dtype, `'${name}'`), shape: { dim } } } };
}

/** The IR version that goes with an opset (ONNX's versioning table). */
function irVersion(opset: number): number {
  return opset <= 14 ? 7 : opset <= 18 ? 8 : 9;
}

let version: string | null = null;

/** kiln's version from its package.json (the nearest one above this file: lib/ in a clone, dist/lib/ when built). */
function packageVersion(): string {
  for (let dir = new URL('./', import.meta.url); version === null; dir = new URL('../', dir)) {
    try {
      version = (JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { version: string }).version;
    } catch {
      if (dir.pathname === '/') version = 'unknown';
    }
  }
  return version;
}
