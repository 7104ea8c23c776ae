/**
 * Activation access: the outputs of named layers of any Module for one forward pass, taken
 * with forward hooks (removed again before returning, also when forward throws).
 */
import type { Module } from '../nn/module.js';
import type { RemovableHandle } from '../autograd/hooks.js';
import { noGrad } from '../autograd/grad-mode.js';
import { Tensor } from '../tensor.js';
import { VizError } from './errors.js';

/**
 * The submodule called `name` (a dotted path as namedModules() spells it, e.g. `'0'` or
 * `'features.3'`); a VizError listing the names when there is none.
 *
 * Example: `viz.findLayer(models.lenet5(), '3')` → the module at index 3 of the Sequential.
 */
export function findLayer(model: Module, name: string, op = 'viz'): Module {
  const modules = model.namedModules();
  const found = modules.find(([n]) => n === name);
  if (found === undefined) {
    const names = modules.map(([n]) => (n === '' ? "'' (the model)" : `'${n}'`)).join(', ');
    throw new VizError(`${op}: the model has no layer named '${name}'; its layers are ${names}`);
  }
  return found[1];
}

/**
 * Registers a forward hook on each named layer that hands its tensor output to `seen`, runs
 * `body`, and removes the hooks again (also when body throws).
 */
export function withOutputHooks<T>(
  model: Module,
  layerNames: readonly string[],
  op: string,
  seen: (name: string, output: Tensor) => Tensor | void,
  body: () => T,
): T {
  const layers = layerNames.map((name) => findLayer(model, name, op));
  const handles: RemovableHandle[] = [];
  try {
    layers.forEach((layer, i) => {
      handles.push(
        layer.registerForwardHook((_m, _inputs, output) => {
          if (!(output instanceof Tensor)) {
            throw new VizError(`${op}: layer '${layerNames[i]}' (${layer.constructor.name}) returned ${describe(output)}; expected a Tensor`);
          }
          return seen(layerNames[i], output);
        }),
      );
    });
    return body();
  } finally {
    for (const h of handles) h.remove();
  }
}

function describe(value: unknown): string {
  return Array.isArray(value) ? `an array of ${value.length}` : typeof value;
}

/** Options of activations. */
export interface ActivationsOptions {
  /** Run forward with gradients recorded (so the activations can be differentiated). Default false. */
  withGrad?: boolean;
}

/**
 * The outputs of the named layers for one forward pass of `model` on `input`, by name (a
 * layer called more than once keeps its last output). The model's own output is returned
 * too, under `output`. Without `withGrad` the pass runs under noGrad and the activations are
 * plain tensors.
 *
 * Args:
 * - model: any Module (set eval() first if it has dropout or batch norm).
 * - input: what model.forward takes (one tensor).
 * - layerNames: names as model.namedModules() gives them.
 * - options.withGrad: record the graph. Default false.
 *
 * Shape: each activation as the layer returns it, e.g. (N, C, H, W) for a conv layer.
 *
 * Example:
 * ```ts
 * const net = models.lenet5().eval();
 * const { activations } = viz.activations(net, x, ['1', '4']); // after each ReLU
 * activations.get('1')!.shape;                                   // [N, 6, 28, 28]
 * ```
 */
export function activations(
  model: Module,
  input: Tensor,
  layerNames: readonly string[],
  options: ActivationsOptions = {},
): { activations: Map<string, Tensor>; output: unknown } {
  if (layerNames.length === 0) throw new VizError('activations: layerNames is empty; name at least one layer (see model.namedModules())');
  const found = new Map<string, Tensor>();
  const run = () =>
    withOutputHooks(model, layerNames, 'activations', (name, out) => void found.set(name, out), () => model.forward(input));
  const output = options.withGrad === true ? run() : noGrad(run);
  return { activations: found, output };
}
