/**
 * A printable model summary: one row per module with its output shape for an example input
 * and its own parameter count, then the totals (Keras's model.summary(), torchinfo's table).
 */
import { noGrad } from '../autograd/grad-mode.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import type { Module } from './module.js';

/**
 * Runs model on inputs (no autograd, eval mode, training flags restored afterwards; a
 * forward hook on each module records its output) and
 * tabulates every module: dotted name and type, output shape (`-` for a module not called,
 * such as a container without forward) and parameter count (its own, not its children's).
 *
 * Example:
 * ```
 * Layer (type)   Output shape   Param #
 * =====================================
 * (Sequential)   [2, 2]         0
 *   0 (Linear)   [2, 8]         40
 *   1 (ReLU)     [2, 8]         0
 *   2 (Linear)   [2, 2]         18
 * =====================================
 * Total params: 58
 * Trainable params: 58
 * Non-trainable params: 0
 * ```
 */
export function summarize(model: Module, inputs: readonly Tensor[]): string {
  const modules = model.namedModules();
  const shapes = recordOutputShapes(model, modules.map(([, m]) => m), inputs);
  const rows = modules.map(([path, m]) => {
    const depth = path === '' ? 0 : path.split('.').length;
    const label = `${'  '.repeat(depth)}${path === '' ? '' : `${path.split('.').pop()} `}(${m.constructor.name})`;
    const count = m.parameters(false).reduce((n, p) => n + p.numel, 0);
    return [label, shapes.get(m) ?? '-', String(count)];
  });
  const params = model.parameters();
  const total = params.reduce((n, p) => n + p.numel, 0);
  const trainable = params.filter((p) => p.requiresGrad).reduce((n, p) => n + p.numel, 0);
  return [...table([['Layer (type)', 'Output shape', 'Param #'], ...rows]), `Total params: ${total}`, `Trainable params: ${trainable}`, `Non-trainable params: ${total - trainable}`].join('\n');
}

/** The output shape of each module in one forward pass, recorded by a forward hook on each (removed afterwards). */
function recordOutputShapes(model: Module, modules: Module[], inputs: readonly Tensor[]): Map<Module, string> {
  const shapes = new Map<Module, string>();
  const modes = modules.map((m) => m.training);
  const handles = modules.map((m) => m.registerForwardHook((_m, _inputs, y) => void shapes.set(m, describeOutput(y))));
  try {
    model.eval();
    noGrad(() => model.forward(...inputs));
  } finally {
    for (const handle of handles) handle.remove();
    modules.forEach((m, i) => (m.training = modes[i]));
  }
  return shapes;
}

/** The shape of a Tensor output, the shapes of a tuple of them, or `-`. */
function describeOutput(y: unknown): string {
  if (y instanceof Tensor) return formatShape(y.shape);
  if (Array.isArray(y)) return y.map(describeOutput).join(', ');
  return '-';
}

/** Rows padded into columns, with rules under the header and at the end. */
function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]): string => r.map((cell, c) => cell.padEnd(widths[c])).join('   ').trimEnd();
  const rule = '='.repeat(widths.reduce((a, b) => a + b, 0) + 3 * (widths.length - 1));
  return [line(rows[0]), rule, ...rows.slice(1).map(line), rule];
}
