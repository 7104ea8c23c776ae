/**
 * Activation maximisation (Erhan et al. 2009; Simonyan et al. 2014's class models; Mahendran
 * & Vedaldi's priors): gradient ascent on an input to raise one unit, with L2 and total-
 * variation penalties and random jitter.
 */
import { grad } from '../autograd/grad.js';
import { noGrad } from '../autograd/grad-mode.js';
import type { Module } from '../nn/module.js';
import { randint, randn } from '../ops/creation.js';
import type { Generator } from '../random.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { withOutputHooks } from './activations.js';
import { VizError } from './errors.js';

/** Options of maximizeActivation. */
export interface MaximizeActivationOptions {
  /** Shape of the optimised input, with a batch dim, e.g. [1, 1, 28, 28]. Ignored when `start` is given. */
  inputShape?: readonly number[];
  /** The starting input (not modified). Default: N(0, 0.01²) noise of inputShape. */
  start?: Tensor;
  /** The layer whose output holds the unit (a name from namedModules()). Default: the model's output. */
  layer?: string;
  /** The unit: a channel of an (N, C, h, w) output (its spatial mean), or a column of an (N, K) one. */
  unit: number;
  /** Gradient-ascent steps. Default 100. */
  steps?: number;
  /** Step size. Default 0.1. */
  lr?: number;
  /** Weight λ of the L2 prior λ·‖x‖². Default 0. */
  l2?: number;
  /** Weight of the total-variation prior Σ (x[i+1,j] − x[i,j])² + (x[i,j+1] − x[i,j])² (images). Default 0. */
  tv?: number;
  /** Random shift of up to ±jitter pixels (wrapping) before each forward. Default 0. */
  jitter?: number;
  /** Random stream of the start and the jitter. Default: the global generator. */
  generator?: Generator;
}

/**
 * An input that maximises unit − l2·‖x‖² − tv·TV(x) by `steps` of plain gradient ascent
 * x ← x + lr·∇ (for a model's class score: Simonyan's class model visualisation). Write the
 * result with data.writePng after scaling, or draw it with filterGrid-like tools.
 *
 * Args: model, options (unit, layer, inputShape or start, steps, lr, l2, tv, jitter, generator).
 * Shape: inputShape (or start's shape).
 *
 * Example: `const img = viz.maximizeActivation(net, { unit: 3, inputShape: [1, 1, 28, 28], l2: 0.05, tv: 0.5, jitter: 2 });`
 */
export function maximizeActivation(model: Module, options: MaximizeActivationOptions): Tensor {
  const op = 'maximizeActivation';
  if (!Number.isInteger(options?.unit) || options.unit < 0) throw new VizError(`${op}: options.unit must be an integer ≥ 0, got ${String(options?.unit)}`);
  const steps = options.steps ?? 100;
  if (!Number.isInteger(steps) || steps < 0) throw new VizError(`${op}: steps must be an integer ≥ 0, got ${steps}`);
  const lr = options.lr ?? 0.1;
  const l2 = options.l2 ?? 0;
  const tv = options.tv ?? 0;
  const jitter = options.jitter ?? 0;
  let x = startInput(options, op);
  if ((tv > 0 || jitter > 0) && x.ndim !== 4) throw new VizError(`${op}: tv and jitter need an image input (N, C, H, W), got shape ${formatShape(x.shape)}`);
  for (let s = 0; s < steps; s++) {
    const leaf = x.detach().requiresGrad_();
    const shift = jitter > 0 ? (randint(-jitter, jitter + 1, [2], { generator: options.generator }).toArray() as number[]) : [0, 0];
    const seen = jitter > 0 ? leaf.roll(shift, [2, 3]) : leaf;
    let objective = unitValue(model, seen, options.layer, options.unit, op);
    if (l2 > 0) objective = objective.sub(leaf.square().sum().mul(l2));
    if (tv > 0) objective = objective.sub(totalVariation(leaf).mul(tv));
    const [g] = grad(objective, leaf);
    x = noGrad(() => leaf.detach().add(g.mul(lr)));
  }
  return x;
}

/**
 * Σ of squared differences of vertical and horizontal neighbours of an (N, C, H, W) image.
 *
 * Example: `viz.totalVariation(tensor([[[[0, 1], [1, 1]]]]))` → 2 (a 0-d tensor, differentiable).
 */
export function totalVariation(x: Tensor): Tensor {
  const [, , h, w] = x.shape;
  const dy = x.narrow(2, 1, h - 1).sub(x.narrow(2, 0, h - 1));
  const dx = x.narrow(3, 1, w - 1).sub(x.narrow(3, 0, w - 1));
  return dy.square().sum().add(dx.square().sum());
}

function startInput(options: MaximizeActivationOptions, op: string): Tensor {
  if (options.start !== undefined) {
    if (!(options.start instanceof Tensor) || (options.start.dtype !== 'float32' && options.start.dtype !== 'float64')) {
      throw new VizError(`${op}: options.start must be a float tensor`);
    }
    return options.start.detach().clone();
  }
  const shape = options.inputShape;
  if (shape === undefined || shape.length < 2) throw new VizError(`${op}: give options.inputShape (with a batch dim, e.g. [1, 1, 28, 28]) or options.start`);
  return randn(shape, { generator: options.generator }).mul(0.01);
}

/** The unit's value summed over the batch: the channel mean of a feature map, or a column. */
function unitValue(model: Module, x: Tensor, layer: string | undefined, unit: number, op: string): Tensor {
  let out: Tensor | null = null;
  if (layer === undefined) {
    const result = model.forward(x);
    if (result instanceof Tensor) out = result;
  } else {
    withOutputHooks(model, [layer], op, (_n, o) => void (out = o), () => model.forward(x));
  }
  const o = out as Tensor | null;
  if (o === null || o.ndim < 2) throw new VizError(`${op}: ${layer === undefined ? 'the model' : `layer '${layer}'`} gave no (N, units, ...) tensor output`);
  if (unit >= o.shape[1]) throw new VizError(`${op}: unit ${unit} is out of range for ${layer === undefined ? 'the output' : `layer '${layer}'`} of shape ${formatShape(o.shape)}`);
  const selected = o.select(1, unit);
  return selected.ndim === 1 ? selected.sum() : selected.mean(Array.from({ length: selected.ndim - 1 }, (_, i) => i + 1)).sum();
}
