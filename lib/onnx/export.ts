/**
 * onnx.export: runs the model once on a sample input in eval mode, recording the calls of
 * modules that have an exporter (forward hooks) and the tensor ops run outside them (op
 * tracing: residual adds, reshapes, concatenations, ...), links them by tensor identity into
 * an ONNX graph, drops what does not reach the output and writes the ModelProto atomically.
 */
import { readFileSync } from 'node:fs';

import { noGrad } from '../autograd/grad-mode.js';
import { traceOps, type TracedOp } from '../autograd/op-trace.js';
import { writeFileAtomic } from '../io/safetensors.js';
import type { Module } from '../nn/module.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { exporterFor } from './exporters.js';
import { GraphBuilder, onnxElemType } from './graph-builder.js';
import { opExporterFor } from './op-exporters.js';
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

/**
 * What the trace saw, in execution order: calls of modules that have an exporter, and the ops
 * run outside them, with the storage versions of their inputs when they ran and of their
 * output when they ended (in-place writes bump them; see TracedValues).
 */
type TraceEvent = ({ kind: 'module'; module: Module; output: unknown } | { kind: 'op'; op: TracedOp }) & {
  path: string;
  inputs: readonly Tensor[];
  inputVersions: number[];
  outputVersion: number;
};

const versionsOf = (tensors: readonly Tensor[]): number[] => tensors.map((t) => t.version);

const MIN_OPSET = 13;
const MAX_OPSET = 20;

/**
 * Exports a model to an ONNX file that onnxruntime (and kiln's onnx.load) can run.
 *
 * The model is run once on sampleInput in eval mode under noGrad (its training flags are
 * restored afterwards). Modules with an exporter (kiln's layers; see onnx.registerExporter)
 * become their ONNX nodes; the forward of any other module is traced op by op, so custom
 * forwards with residual adds, flatten / reshape / view, cat, permute / transpose, matmul,
 * activations, softmax, sum / mean and arithmetic with constants export too. Tensors the
 * forward creates itself (parameters, constants) become initializers: the file holds the
 * computation of this sample, with the batch axis kept dynamic by reshapes where asked. An op
 * without an exporter, or an in-place write kiln cannot follow, is an error naming the op and
 * the module whose forward ran it.
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
  const inputVersion = sampleInput.version;
  const { events, output } = trace(model, sampleInput);
  const graph = new GraphBuilder(opset);
  const values = new TracedValues(graph, new Map([...model.namedParameters(), ...model.namedBuffers()].map(([name, t]) => [t as Tensor, name])));
  values.define(sampleInput, inputVersion, graph.uniqueName(inputName));
  for (const event of events) emit(graph, values, event);
  graph.node('Identity', [values.resolve(output, output.version, "the model's output")], {}, outputName);
  graph.prune([outputName]);
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

/**
 * Runs the model on x: exportable modules are recorded whole (hooks; what runs inside them is
 * theirs), every other module is traced through op by op.
 */
function trace(model: Module, x: Tensor): { events: TraceEvent[]; output: Tensor } {
  const events: TraceEvent[] = [];
  const handles: { remove(): void }[] = [];
  const modes = model.modules().map((m) => [m, m.training] as const);
  let depth = 0; // exportable modules running
  let callInputVersions: number[] = []; // of the outermost exportable module running
  const paths: string[] = []; // traced-through modules running, innermost last
  const tensorsIn = (args: readonly unknown[]): Tensor[] => args.filter((a): a is Tensor => a instanceof Tensor);
  try {
    for (const [path, module] of model.namedModules()) {
      const exportable = exporterFor(module) !== null;
      handles.push(
        module.registerForwardPreHook((_, args) => {
          if (!exportable) paths.push(path);
          else if (depth++ === 0) callInputVersions = versionsOf(tensorsIn(args));
          return undefined;
        }),
        module.registerForwardHook((m, args, output) => {
          if (!exportable) paths.pop();
          else if (--depth === 0) {
            const outputVersion = output instanceof Tensor ? output.version : 0;
            events.push({ kind: 'module', module: m, path, inputs: tensorsIn(args), inputVersions: callInputVersions, output, outputVersion });
          }
          return undefined;
        }),
      );
    }
    model.eval();
    const onOp = (op: TracedOp): void => {
      if (depth === 0) events.push({ kind: 'op', op, path: paths.at(-1) ?? '', inputs: op.inputs, inputVersions: versionsOf(op.inputs), outputVersion: op.output.version });
    };
    const output = noGrad(() => traceOps(onOp, () => model.forward(x)));
    if (!(output instanceof Tensor)) throw new OnnxError(`onnx.export: the model must return one tensor, got ${typeof output}`);
    return { events, output };
  } finally {
    for (const h of handles) h.remove();
    for (const [m, training] of modes) m.training = training;
  }
}

/**
 * Appends one traced event's nodes. A failure (an op without exporter, an untraceable input)
 * is not thrown here but attached to the event's output: it is reported only if that value
 * reaches the model's output (ops inside a composite op, or results the model drops, never do).
 */
function emit(graph: GraphBuilder, values: TracedValues, event: TraceEvent): void {
  const { path, inputs: tensors, inputVersions } = event;
  const resolveInputs = (what: string): string[] => tensors.map((t, k) => values.resolve(t, inputVersions[k], `argument ${k} of ${what}`));
  if (event.kind === 'module') {
    const { module, output } = event;
    const what = `${module.constructor.name} '${path}'`;
    if (!(output instanceof Tensor)) throw new OnnxError(`onnx.export: ${what} returned a ${typeof output}; exported modules must return one tensor`);
    values.attempt(output, event.outputVersion, () =>
      exporterFor(module)!({ graph, module, path, inputs: resolveInputs(what), inputTensors: [...tensors], output }),
    );
    return;
  }
  const { op } = event;
  const where = path === '' ? "the model's forward" : `the forward of '${path}'`;
  values.attempt(op.output, event.outputVersion, () => {
    const exporter = opExporterFor(op.name);
    if (exporter === null) {
      const shapes = op.inputs.map((t) => `${t.dtype} ${formatShape(t.shape)}`).join(', ');
      throw new OnnxError(`onnx.export: no ONNX exporter for op '${op.name}' (inputs ${shapes}) in ${where}; use a module kiln can export, or register one with onnx.registerExporter on a module wrapping it`);
    }
    return exporter({ graph, op, inputs: resolveInputs(`op '${op.name}' in ${where}`), base: path });
  });
}

/**
 * The ONNX value of each traced tensor (by identity, at the storage version it had when it was
 * produced), or why it has none; tensors never traced become initializers, unless they share
 * memory with a traced value (detach(), a view made outside the op layer): those the graph
 * could not follow. A tensor used at another version than the one its value was produced at
 * was written in place by something the trace did not see (e.g. a write through a view).
 */
class TracedValues {
  private readonly names = new Map<Tensor, { name: string; version: number }>();
  private readonly failures = new Map<Tensor, string>();
  /** The storage arrays of traced values (views share their base's array). */
  private readonly tracedStorage = new Set<object>();

  /** Args: the graph; the model's parameters and buffers by tensor, named as in its stateDict (their initializers' names). */
  constructor(
    private readonly graph: GraphBuilder,
    private readonly stateNames: ReadonlyMap<Tensor, string>,
  ) {}

  /** t, at storage version `version`, is the traced value named `name` in the graph. */
  define(t: Tensor, version: number, name: string): void {
    this.names.set(t, { name, version });
    this.failures.delete(t);
    this.tracedStorage.add(t.storage);
  }

  /** Defines t as what produce() returns, or records the OnnxError it throws as t's failure. */
  attempt(t: Tensor, version: number, produce: () => string): void {
    try {
      this.define(t, version, produce());
    } catch (e) {
      if (!(e instanceof OnnxError)) throw e;
      this.names.delete(t);
      this.failures.set(t, e.message);
      this.tracedStorage.add(t.storage);
    }
  }

  /** t's ONNX name for `user` (a phrase naming where it is used, at storage version `version`); throws when t has none. */
  resolve(t: Tensor, version: number, user: string): string {
    const failure = this.failures.get(t);
    if (failure !== undefined) throw new OnnxError(failure);
    const known = this.names.get(t);
    const what = `the ${t.dtype} ${formatShape(t.shape)} tensor passed as ${user}`;
    if (known !== undefined) {
      if (known.version !== version) throw new OnnxError(`onnx.export: ${what} was modified in place after it was computed, in a way the export cannot follow (an in-place write to a view?)`);
      return known.name;
    }
    if (this.tracedStorage.has(t.storage)) {
      throw new OnnxError(`onnx.export: ${what} shares memory with a traced value but was not produced by a traced op (detach() or a view made outside kiln's ops?)`);
    }
    // A constant (a parameter, a buffer, a tensor the forward created): an initializer.
    const name = this.graph.initializer(this.stateNames.get(t) ?? 'const', t);
    this.names.set(t, { name, version });
    return name;
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
