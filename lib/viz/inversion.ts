/**
 * Feature inversion (Mahendran & Vedaldi 2015): an input whose code at a layer matches a
 * given input's, found by Adam on ‖φ(x) − φ(x₀)‖² / ‖φ(x₀)‖² plus L2 and total-variation priors.
 */
import { grad } from '../autograd/grad.js';
import { noGrad } from '../autograd/grad-mode.js';
import type { Module } from '../nn/module.js';
import { randn } from '../ops/creation.js';
import { Adam } from '../optim/adam.js';
import type { Generator } from '../random.js';
import { formatShape, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { withOutputHooks } from './activations.js';
import { VizError } from './errors.js';
import { totalVariation } from './maximize.js';

/** Options of invertFeatures. */
export interface InvertFeaturesOptions {
  /** The layer whose code is matched (a name from namedModules()). Required. */
  layer: string;
  /** Adam steps. Default 200. */
  steps?: number;
  /** Adam's learning rate. Default 0.05. */
  lr?: number;
  /** Weight of the L2 prior ‖x‖². Default 0. */
  l2?: number;
  /** Weight of the total-variation prior (images (N, C, H, W) only). Default 0. */
  tv?: number;
  /** Random stream of the N(0, 0.01²) start. Default: the global generator. */
  generator?: Generator;
  /**
   * The starting input (not modified), shaped like input. Default: N(0, 0.01²) noise. Where
   * every unit of the first ReLU is off at the start (a trained net whose first-layer biases
   * are all negative, started near 0) the code's gradient is zero and nothing moves: start
   * from noise at the data's scale then, e.g. `randn(x.shape)` for standardised images.
   */
  start?: Tensor;
}

/**
 * Reconstructs inputs from their code at `layer`: starting from small noise, Adam minimises
 * ‖φ(x) − φ(x₀)‖² / ‖φ(x₀)‖² + l2·‖x‖² + tv·TV(x), φ the layer's output.
 *
 * Args: model, input x₀ (N, ...), options (layer, steps, lr, l2, tv, generator, start).
 * Shape: input's shape.
 *
 * Example: `const recon = viz.invertFeatures(net, x, { layer: '4', tv: 0.01, steps: 300 });`
 */
export function invertFeatures(model: Module, input: Tensor, options: InvertFeaturesOptions): Tensor {
  const op = 'invertFeatures';
  if (!(input instanceof Tensor) || (input.dtype !== 'float32' && input.dtype !== 'float64') || input.ndim < 2) {
    const got = input instanceof Tensor ? `${input.dtype} of shape ${formatShape(input.shape)}` : typeof input;
    throw new VizError(`${op}: expects a float input batch (N, ...), got ${got}`);
  }
  if (typeof options?.layer !== 'string') throw new VizError(`${op}: options.layer (a name from model.namedModules()) is required`);
  const steps = options.steps ?? 200;
  if (!Number.isInteger(steps) || steps < 0) throw new VizError(`${op}: steps must be an integer ≥ 0, got ${steps}`);
  const l2 = options.l2 ?? 0;
  const tv = options.tv ?? 0;
  if (tv > 0 && input.ndim !== 4) throw new VizError(`${op}: tv needs an image input (N, C, H, W), got shape ${formatShape(input.shape)}`);
  const code = (x: Tensor): Tensor => {
    let out: Tensor | null = null;
    withOutputHooks(model, [options.layer], op, (_n, o) => void (out = o), () => model.forward(x));
    if (out === null) throw new VizError(`${op}: layer '${options.layer}' did not run in the model's forward`);
    return out;
  };
  const target = noGrad(() => code(input.detach()));
  const scale = 1 / Math.max(target.square().sum().item(), 1e-12);
  const x = startingPoint(input, options, op).requiresGrad_();
  const opt = new Adam([x], { lr: options.lr ?? 0.05 });
  for (let s = 0; s < steps; s++) {
    let loss = code(x).sub(target).square().sum().mul(scale);
    if (l2 > 0) loss = loss.add(x.square().sum().mul(l2));
    if (tv > 0) loss = loss.add(totalVariation(x).mul(tv));
    [x.grad] = grad(loss, x); // not loss.backward(): the model's parameters keep their .grad
    opt.step();
  }
  return x.detach();
}

/** A fresh copy of options.start (checked against input), or N(0, 0.01²) noise shaped like input. */
function startingPoint(input: Tensor, options: InvertFeaturesOptions, op: string): Tensor {
  const start = options.start;
  if (start === undefined) return randn(input.shape, { dtype: input.dtype, generator: options.generator }).mul(0.01);
  if (!(start instanceof Tensor) || !sameShape(start.shape, input.shape) || (start.dtype !== 'float32' && start.dtype !== 'float64')) {
    const got = start instanceof Tensor ? `${start.dtype} of shape ${formatShape(start.shape)}` : typeof start;
    throw new VizError(`${op}: options.start must be a float tensor shaped like the input ${formatShape(input.shape)}, got ${got}`);
  }
  return start.detach().to(input.dtype).clone();
}
