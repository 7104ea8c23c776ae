/**
 * Grad-CAM (Selvaraju et al. 2017) at any named layer, and Guided Grad-CAM (its map times
 * guided backpropagation).
 */
import { grad } from '../autograd/grad.js';
import type { Module } from '../nn/module.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { withOutputHooks } from './activations.js';
import { VizError } from './errors.js';
import { guidedBackprop } from './relu-rules.js';
import { resizeBilinear } from './resize.js';
import { leafInput, logitsOf, targetIndices, targetScore, type Target } from './target.js';

/** Options of gradCam and guidedGradCam. */
export interface GradCamOptions {
  /** Class to explain. Default: each sample's top class. */
  target?: Target;
  /** Resize the map to the input's height and width (bilinear). Default true. */
  upsample?: boolean;
  /** Keep only positive evidence (ReLU of the weighted sum, as in the paper). Default true. */
  relu?: boolean;
}

/**
 * Grad-CAM: the channels of a layer's (N, K, h, w) output A weighted by the spatial mean of
 * d score[target] / dA, summed over channels, then ReLU: relu(Σ_k mean_ij(∂y/∂A_kij) · A_k).
 * Not normalised (overlayPng scales each map to [0, 1]).
 *
 * Args: model, input (N, C, H, W), layer (a name from model.namedModules(), typically the
 * last conv layer or the ReLU after it), options (target, upsample, relu).
 * Shape: (N, H, W) when upsample (default), else (N, h, w).
 *
 * Example: `const cam = viz.gradCam(net, x, '3', { target: 5 }); // LeNet's second conv`
 */
export function gradCam(model: Module, input: Tensor, layer: string, options: GradCamOptions = {}): Tensor {
  const op = 'gradCam';
  const x = leafInput(input, op);
  let activation: Tensor | null = null;
  const logits = withOutputHooks(model, [layer], op, (_name, out) => void (activation = out), () => logitsOf(model, x, op));
  const a = activation as Tensor | null;
  if (a === null) throw new VizError(`${op}: layer '${layer}' did not run in the model's forward`);
  if (a.ndim !== 4 || a.shape[0] !== x.shape[0]) {
    throw new VizError(`${op}: layer '${layer}' returned shape ${formatShape(a.shape)}; expected a (N, K, h, w) feature map for N = ${x.shape[0]}`);
  }
  const [ga] = grad(targetScore(logits, targetIndices(logits, options.target, op)), a);
  const weights = ga.mean([2, 3], true); // (N, K, 1, 1)
  const weighted = a.detach().mul(weights).sum(1); // (N, h, w)
  const cam = options.relu === false ? weighted : weighted.relu();
  if (options.upsample === false) return cam;
  if (input.ndim !== 4) throw new VizError(`${op}: upsample needs an image batch (N, C, H, W), got shape ${formatShape(input.shape)}; pass upsample: false`);
  return resizeBilinear(cam, input.shape[2], input.shape[3]);
}

/**
 * Guided Grad-CAM: guided backpropagation times the upsampled Grad-CAM map, for each channel.
 *
 * Args: model (with nn.ReLU modules), input (N, C, H, W), layer, options.target.
 * Shape: input's shape.
 *
 * Example: `const ggc = viz.guidedGradCam(net, x, '3');`
 */
export function guidedGradCam(model: Module, input: Tensor, layer: string, options: Omit<GradCamOptions, 'upsample'> = {}): Tensor {
  const cam = gradCam(model, input, layer, { ...options, upsample: true });
  return guidedBackprop(model, input, { target: options.target }).mul(cam.unsqueeze(1));
}
