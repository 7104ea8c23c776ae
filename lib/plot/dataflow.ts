/**
 * The dataflow graph of one forward pass, for plot.modelGraph: a node per call of a leaf
 * module (a module without submodules; forward hooks) and per op run outside leaf modules
 * (op tracing, as onnx.export does: residual adds, concatenations, functional activations),
 * with an edge wherever a node's output is an input of another. Shape-only ops (reshape,
 * permute, …) pass their input's producer through instead of becoming nodes.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { traceOps, type TracedOp } from '../autograd/op-trace.js';
import { KilnError, ShapeError } from '../errors.js';
import { Module } from '../nn/module.js';
import { zeros } from '../ops/creation.js';
import { Tensor } from '../tensor.js';

/** One node of a ModelGraph. */
export interface GraphNode {
  /** Its position in the graph's node list (a topological order: inputs come first). */
  id: number;
  /** 'input' / 'output' of the model, a leaf 'module' call, or an 'op' run between modules. */
  kind: 'input' | 'output' | 'module' | 'op';
  /** The module's class name or the op's name ('add', 'cat', 'relu', …); 'input' / 'output'. */
  type: string;
  /** The module's dotted path in the model ('' for ops and the model's inputs and outputs). */
  path: string;
  /** The module itself (kind 'module'), else null. */
  module: Module | null;
  /** Shapes of the node's output tensors (the model's output shapes for 'output'). */
  shapes: number[][];
}

/**
 * A model's dataflow for one input: nodes in execution order and edges [from, to] between
 * their ids (from < to; no duplicates).
 *
 * Example: `plot.traceModelGraph(models.resnet18(), [1, 3, 224, 224]).nodes.filter((n) => n.type === 'add').length` → 8.
 */
export interface ModelGraph {
  nodes: GraphNode[];
  edges: [number, number][];
}

/** Ops that only re-view their input: their output keeps the input's producer. */
const PASS_THROUGH = new Set(['reshape', 'squeeze', 'unsqueeze', 'permute', 'expand', 'clone', 'contiguous', 'cast']);

/** Every Tensor inside a value (arrays and plain objects walked). */
function tensorsIn(value: unknown): Tensor[] {
  if (value instanceof Tensor) return [value];
  if (Array.isArray(value)) return value.flatMap(tensorsIn);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return Object.values(value).flatMap(tensorsIn);
  return [];
}

/** The tensors fed for an input argument: zeros of a shape, a tensor, or a list of tensors. */
export function exampleInputs(what: string, input: readonly number[] | Tensor | readonly Tensor[]): Tensor[] {
  if (input instanceof Tensor) return [input];
  if (Array.isArray(input) && input.length > 0 && input.every((v) => v instanceof Tensor)) return [...(input as readonly Tensor[])];
  if (Array.isArray(input) && input.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 1)) return [zeros(input as readonly number[])];
  throw new ShapeError(`${what}: input must be a shape (positive integers, e.g. [1, 3, 224, 224]), a Tensor or an array of Tensors, got ${Array.isArray(input) ? `[${input.map(String).join(', ')}]` : typeof input}`);
}

/** Builds the graph while the forward runs: which node produced each tensor, and the nodes so far. */
class GraphRecorder {
  readonly nodes: GraphNode[] = [];
  readonly edges: [number, number][] = [];
  private readonly producer = new Map<Tensor, number>();

  /** A new node fed by the producers of `inputs`; its output tensors are mapped to it. */
  add(kind: GraphNode['kind'], type: string, path: string, module: Module | null, sources: readonly number[], outputs: readonly Tensor[]): number {
    const id = this.nodes.length;
    this.nodes.push({ id, kind, type, path, module, shapes: outputs.map((t) => [...t.shape]) });
    for (const from of new Set(sources)) this.edges.push([from, id]);
    for (const t of outputs) this.producer.set(t, id);
    return id;
  }

  /** The distinct nodes that produced these tensors (tensors made outside the graph, such as parameters, have none). */
  sources(tensors: readonly Tensor[]): number[] {
    return [...new Set(tensors.map((t) => this.producer.get(t)).filter((id): id is number => id !== undefined))];
  }

  /** An op outside the leaf modules: a node, or a pass-through for shape-only ops and in-place writes. */
  op(op: TracedOp): void {
    const sources = this.sources(op.inputs);
    if (sources.length === 0) return; // computed from constants only
    if (op.name === 'inPlace' || (PASS_THROUGH.has(op.name) && sources.length === 1)) {
      this.producer.set(op.output, sources[0]);
      return;
    }
    this.add('op', op.name, '', null, sources, [op.output]);
  }
}

/**
 * Runs model once on the example input (eval mode, no autograd; training flags restored) and
 * returns its dataflow graph: a node per leaf-module call and per op between modules, edges
 * from each tensor's producer to its users, plus one 'input' node per input tensor and one
 * 'output' node. A leaf module called twice is two nodes.
 *
 * Args: model; input: a shape (zeros of that shape are fed), a tensor, or an array of tensors.
 *
 * Example:
 * ```ts
 * const g = plot.traceModelGraph(models.resnet18({ numClasses: 10 }), [1, 3, 64, 64]);
 * g.nodes.length; g.edges.length;
 * ```
 */
export function traceModelGraph(model: Module, input: readonly number[] | Tensor | readonly Tensor[]): ModelGraph {
  if (!(model instanceof Module)) throw new KilnError(`modelGraph: model must be an nn.Module, got ${model === null ? 'null' : typeof model}`);
  const inputs = exampleInputs('modelGraph', input);
  const recorder = new GraphRecorder();
  inputs.forEach((t) => recorder.add('input', 'input', '', null, [], [t]));
  const modes = model.modules().map((m) => [m, m.training] as const);
  const handles: { remove(): void }[] = [];
  let depth = 0; // leaf modules running
  let callSources: number[] = [];
  try {
    for (const [path, module] of model.namedModules()) {
      if (module.children().length > 0) continue;
      handles.push(
        module.registerForwardPreHook((_m, args) => {
          if (depth++ === 0) callSources = recorder.sources(tensorsIn(args));
          return undefined;
        }),
        module.registerForwardHook((m, _args, output) => {
          if (--depth === 0) recorder.add('module', m.constructor.name, path, m, callSources, tensorsIn(output));
          return undefined;
        }),
      );
    }
    model.eval();
    const output = noGrad(() => traceOps((op) => depth === 0 && recorder.op(op), () => model.forward(...inputs)));
    const outputs = tensorsIn(output);
    recorder.add('output', 'output', '', null, recorder.sources(outputs), []);
    recorder.nodes.at(-1)!.shapes = outputs.map((t) => [...t.shape]);
  } finally {
    for (const handle of handles) handle.remove();
    for (const [m, training] of modes) m.training = training;
  }
  return { nodes: recorder.nodes, edges: recorder.edges };
}
