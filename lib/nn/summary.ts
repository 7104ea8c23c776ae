/**
 * A model summary (Keras's model.summary(), torchinfo's table): one row per module with its
 * output shape for an example input, its own parameter count and its multiply–accumulate
 * operations (MACs), then the totals.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { ShapeError } from '../errors.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { zeros } from '../ops/creation.js';
import type { Module } from './module.js';

/** One module's row of a ModelSummary. */
export interface LayerSummary {
  /** Dotted path ('' for the model itself). */
  name: string;
  /** The module's class name. */
  type: string;
  /** Nesting depth (0 for the model). */
  depth: number;
  /** Shapes of its output in the pass (several for a tuple output); empty when it was not called. */
  outputShapes: number[][];
  /** Its own parameters (not its children's). */
  params: number;
  /** MACs of its own forward calls in the pass (Module.macs; not its children's). */
  macs: number;
}

/**
 * What nn.summary measured: a row per module and the totals; `toString()` is the table.
 *
 * Example: `nn.summary(models.resnet18(), [1, 3, 224, 224]).totalMacs` ≈ 1.82e9.
 */
export class ModelSummary {
  constructor(
    readonly layers: readonly LayerSummary[],
    readonly totalParams: number,
    readonly trainableParams: number,
    readonly totalMacs: number,
  ) {}

  /** The table, then total, trainable and non-trainable parameters and total MACs. */
  toString(): string {
    const rows = this.layers.map((l) => {
      const label = `${'  '.repeat(l.depth)}${l.name === '' ? '' : `${l.name.split('.').pop()} `}(${l.type})`;
      const shapes = l.outputShapes.length === 0 ? '-' : l.outputShapes.map(formatShape).join(', ');
      return [label, shapes, String(l.params), String(l.macs)];
    });
    return [
      ...table([['Layer (type)', 'Output shape', 'Param #', 'MACs'], ...rows]),
      `Total params: ${this.totalParams}`,
      `Trainable params: ${this.trainableParams}`,
      `Non-trainable params: ${this.totalParams - this.trainableParams}`,
      `Total MACs: ${this.totalMacs}${this.totalMacs >= 1000 ? ` (${humanCount(this.totalMacs)})` : ''}`,
    ].join('\n');
  }
}

/**
 * Runs model once on an example input (no autograd, eval mode; training flags restored
 * afterwards; a forward hook on each module records its output shape and MACs) and returns
 * every module's output shape, parameter count and MACs with the totals. MACs come from each
 * module's `macs()`: convolutions and nn.Linear count theirs (bias additions, normalisation,
 * activations and pooling count 0, as in torchinfo's mult-adds and most papers); a custom
 * layer overrides `macs()` to be counted. A module called twice counts twice.
 *
 * Args: model; input: a shape (zeros of that shape are fed), a tensor, or an array of
 * tensors for a forward taking several.
 *
 * Example:
 * ```ts
 * const s = nn.summary(models.resnet18(), [1, 3, 224, 224]);
 * s.totalMacs;          // 1,814,073,344 (1.81 G)
 * console.log(String(s));
 * ```
 */
export function summary(model: Module, input: readonly number[] | Tensor | readonly Tensor[]): ModelSummary {
  const inputs = exampleInputs(input);
  const named = model.namedModules();
  const calls = recordCalls(
    model,
    named.map(([, m]) => m),
    inputs,
  );
  const layers = named.map(([path, m]) => {
    const call = calls.get(m);
    return {
      name: path,
      type: m.constructor.name,
      depth: path === '' ? 0 : path.split('.').length,
      outputShapes: call?.shapes ?? [],
      params: m.parameters(false).reduce((n, p) => n + p.numel, 0),
      macs: call?.macs ?? 0,
    };
  });
  const params = model.parameters();
  const total = params.reduce((n, p) => n + p.numel, 0);
  const trainable = params.filter((p) => p.requiresGrad).reduce((n, p) => n + p.numel, 0);
  return new ModelSummary(
    layers,
    total,
    trainable,
    layers.reduce((n, l) => n + l.macs, 0),
  );
}

/** The tensors to feed for summary's input argument. */
function exampleInputs(input: readonly number[] | Tensor | readonly Tensor[]): Tensor[] {
  if (input instanceof Tensor) return [input];
  if (input.every((v) => v instanceof Tensor)) return [...(input as readonly Tensor[])];
  if (input.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0)) return [zeros(input as readonly number[])];
  throw new ShapeError(`summary: input must be a shape (non-negative integers), a Tensor or an array of Tensors, got [${input.map(String).join(', ')}]`);
}

/** What one module did in the pass: the shapes of its last output, its MACs over all calls. */
interface CallRecord {
  shapes: number[][];
  macs: number;
}

/** Each module's output shapes and MACs in one forward pass, recorded by a forward hook on each (removed afterwards). */
function recordCalls(model: Module, modules: Module[], inputs: readonly Tensor[]): Map<Module, CallRecord> {
  const calls = new Map<Module, CallRecord>();
  const modes = modules.map((m) => m.training);
  const handles = modules.map((m) =>
    m.registerForwardHook((_m, args, y) => {
      const macs = (calls.get(m)?.macs ?? 0) + m.macs(args, y);
      calls.set(m, { shapes: outputShapes(y), macs });
    }),
  );
  try {
    model.eval();
    noGrad(() => model.forward(...inputs));
  } finally {
    for (const handle of handles) handle.remove();
    modules.forEach((m, i) => (m.training = modes[i]));
  }
  return calls;
}

/** The shape of a Tensor output, the shapes of the tensors in an array or object output. */
function outputShapes(y: unknown): number[][] {
  if (y instanceof Tensor) return [[...y.shape]];
  if (Array.isArray(y)) return y.flatMap(outputShapes);
  if (y !== null && typeof y === 'object') return Object.values(y).flatMap(outputShapes);
  return [];
}

/** 1814073344 → '1.81 G' (n ≥ 1000). */
function humanCount(n: number): string {
  const [unit, scale] = ([['T', 1e12], ['G', 1e9], ['M', 1e6]] as const).find(([, s]) => n >= s) ?? ['K', 1e3];
  return `${(n / scale).toFixed(2)} ${unit}`;
}

/** Rows padded into columns, with rules under the header and at the end. */
function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]): string => r.map((cell, c) => cell.padEnd(widths[c])).join('   ').trimEnd();
  const rule = '='.repeat(widths.reduce((a, b) => a + b, 0) + 3 * (widths.length - 1));
  return [line(rows[0]), rule, ...rows.slice(1).map(line), rule];
}
