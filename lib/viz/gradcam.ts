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
import { reluModules, SwitchableReLU, type GuidedSwitch } from './relu-rules.js';
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
  const { logits, activation } = forwardToLayer(model, x, layer, op);
  const [ga] = grad(targetScore(logits, targetIndices(logits, options.target, op)), activation);
  return camOf(activation, ga, input, options, op);
}

/** Grad-CAM's map and guided backpropagation for the same targets (see gradCamAndGuidedBackprop). */
export interface GradCamAndGuided {
  /** Grad-CAM's map: (N, H, W) when upsampled (default), else (N, h, w). */
  cam: Tensor;
  /** Guided backpropagation: shaped like the input. */
  guided: Tensor;
}

/**
 * Grad-CAM at `layer` and guided backpropagation, from one forward pass: the graph is
 * recorded once (every nn.ReLU's output swapped by a forward hook for a custom autograd
 * Function whose backward rule is switched between the passes), the score is backpropagated
 * to the layer with ordinary ReLU gradients (Grad-CAM), then again to the input with every
 * ReLU passing back only positive signal at positive inputs (guided backprop). The same
 * results as gradCam and guidedBackprop called one after the other (which, like Captum, run
 * two forwards), for about one forward less.
 *
 * Args: model (with nn.ReLU modules), input (N, C, H, W), layer, options (target, upsample, relu).
 * Shape: cam (N, H, W) (or (N, h, w) without upsample), guided the input's shape.
 *
 * Example: `const { cam, guided } = viz.gradCamAndGuidedBackprop(net, x, 'layer4');`
 */
export function gradCamAndGuidedBackprop(model: Module, input: Tensor, layer: string, options: GradCamOptions = {}): GradCamAndGuided {
  const op = 'gradCamAndGuidedBackprop';
  const x = leafInput(input, op);
  const state: GuidedSwitch = { guided: false };
  const handles = reluModules(model, op).map((m) => m.registerForwardHook((_m, inputs) => SwitchableReLU.apply(inputs[0] as Tensor, state)));
  try {
    const { logits, activation } = forwardToLayer(model, x, layer, op);
    const score = targetScore(logits, targetIndices(logits, options.target, op));
    const [ga] = grad(score, activation, { retainGraph: true });
    state.guided = true;
    const [guided] = grad(score, x);
    return { cam: camOf(activation, ga, input, options, op), guided };
  } finally {
    for (const h of handles) h.remove();
  }
}

/**
 * Guided Grad-CAM: guided backpropagation times the upsampled Grad-CAM map, for each channel
 * (both from one forward pass, see gradCamAndGuidedBackprop).
 *
 * Args: model (with nn.ReLU modules), input (N, C, H, W), layer, options.target.
 * Shape: input's shape.
 *
 * Example: `const ggc = viz.guidedGradCam(net, x, '3');`
 */
export function guidedGradCam(model: Module, input: Tensor, layer: string, options: Omit<GradCamOptions, 'upsample'> = {}): Tensor {
  const { cam, guided } = gradCamAndGuidedBackprop(model, input, layer, { ...options, upsample: true });
  return guided.mul(cam.unsqueeze(1));
}

/** The model's (N, classes) output on x and the checked (N, K, h, w) output of `layer` in that pass. */
function forwardToLayer(model: Module, x: Tensor, layer: string, op: string): { logits: Tensor; activation: Tensor } {
  let activation: Tensor | null = null;
  const logits = withOutputHooks(model, [layer], op, (_name, out) => void (activation = out), () => logitsOf(model, x, op));
  const a = activation as Tensor | null;
  if (a === null) throw new VizError(`${op}: layer '${layer}' did not run in the model's forward`);
  if (a.ndim !== 4 || a.shape[0] !== x.shape[0]) {
    throw new VizError(`${op}: layer '${layer}' returned shape ${formatShape(a.shape)}; expected a (N, K, h, w) feature map for N = ${x.shape[0]}`);
  }
  return { logits, activation: a };
}

/** relu(Σ_k mean_ij(ga_k) · a_k) (N, h, w) from the layer's output a and its gradient ga, upsampled unless told not to. */
function camOf(a: Tensor, ga: Tensor, input: Tensor, options: GradCamOptions, op: string): Tensor {
  const weights = ga.mean([2, 3], true); // (N, K, 1, 1)
  const weighted = a.detach().mul(weights).sum(1); // (N, h, w)
  const cam = options.relu === false ? weighted : weighted.relu();
  if (options.upsample === false) return cam;
  if (input.ndim !== 4) throw new VizError(`${op}: upsample needs an image batch (N, C, H, W), got shape ${formatShape(input.shape)}; pass upsample: false`);
  return resizeBilinear(cam, input.shape[2], input.shape[3]);
}
