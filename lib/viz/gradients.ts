/**
 * Input-gradient attributions: vanilla saliency (Simonyan et al. 2014), integrated gradients
 * (Sundararajan et al. 2017) and SmoothGrad (Smilkov et al. 2017), as Captum computes them.
 */
import { grad } from '../autograd/grad.js';
import type { Module } from '../nn/module.js';
import { randn, zerosLike } from '../ops/creation.js';
import type { Generator } from '../random.js';
import { formatShape, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { VizError } from './errors.js';
import { leafInput, logitsOf, targetIndices, targetScore, type Target } from './target.js';

/** Options of saliency. */
export interface SaliencyOptions {
  /** Class to explain (see Target). Default: each sample's top class. */
  target?: Target;
  /** Return |gradient| (Simonyan's map, Captum's default) instead of the signed gradient. Default true. */
  abs?: boolean;
}

/**
 * d score[target] / d input for each sample (the model's eval/train mode is left as it is;
 * call model.eval() for dropout or batch norm).
 *
 * Args: model (returns (N, classes) scores), input (N, ...), options.target, options.abs.
 * Shape: input's shape. Take `.amax(1)` for Simonyan's per-pixel map of an image batch.
 *
 * Example: `const map = viz.saliency(net, images, { target: labels }).amax(1); // (N, H, W)`
 */
export function saliency(model: Module, input: Tensor, options: SaliencyOptions = {}): Tensor {
  const g = inputGradient(model, input, options.target, 'saliency').gradient;
  return options.abs === false ? g : g.abs();
}

/**
 * The gradient of the target scores with respect to input, and the targets used
 * (kiln-internal; also the building block of the other input-gradient methods).
 */
export function inputGradient(model: Module, input: Tensor, target: Target | undefined, op: string): { gradient: Tensor; targets: Tensor } {
  const x = leafInput(input, op);
  const logits = logitsOf(model, x, op);
  const targets = targetIndices(logits, target, op);
  const [gradient] = grad(targetScore(logits, targets), x);
  return { gradient, targets };
}

/** How integratedGradients places its steps on the path: Captum's Riemann rules. */
export type IntegrationMethod = 'trapezoid' | 'left' | 'right' | 'middle';

/** Options of integratedGradients. */
export interface IntegratedGradientsOptions {
  /** Class to explain. Default: each sample's top class on the input. */
  target?: Target;
  /** The reference input, shaped like input (or broadcastable). Default zeros. */
  baseline?: Tensor;
  /** Number of points on the straight path. Default 50. */
  steps?: number;
  /** Riemann rule. Default 'trapezoid'. */
  method?: IntegrationMethod;
}

/**
 * Integrated gradients: (x − x') · ∫₀¹ ∂F(x' + α(x − x'))/∂x dα, the integral a Riemann sum
 * over `steps` points. Completeness: the attributions of a sample sum to
 * F(x) − F(x') up to the integration error (smaller with more steps).
 *
 * Args: model, input (N, ...), options (target, baseline, steps, method).
 * Shape: input's shape.
 *
 * Example: `const ig = viz.integratedGradients(net, x, { target: 3, steps: 64 });`
 */
export function integratedGradients(model: Module, input: Tensor, options: IntegratedGradientsOptions = {}): Tensor {
  const op = 'integratedGradients';
  const steps = options.steps ?? 50;
  if (!Number.isInteger(steps) || steps < 2) throw new VizError(`${op}: steps must be an integer ≥ 2, got ${steps}`);
  const baseline = options.baseline ?? zerosLike(input);
  checkBroadcastsTo(baseline, input, op, 'baseline');
  const delta = input.sub(baseline);
  const target = options.target ?? targetIndices(logitsOf(model, input.detach(), op), undefined, op);
  const { alphas, weights } = riemannRule(steps, options.method ?? 'trapezoid', op);
  let total: Tensor | null = null;
  alphas.forEach((alpha, k) => {
    const point = baseline.add(delta.mul(alpha));
    const g = inputGradient(model, point, target, op).gradient.mul(weights[k]);
    total = total === null ? g : total.add(g);
  });
  return delta.mul(total!);
}

/**
 * Points α_k in [0, 1] and their weights (summing to 1) for `steps` points of a rule.
 *
 * Example: `viz.riemannRule(3, 'trapezoid')` → `{ alphas: [0, 0.5, 1], weights: [0.25, 0.5, 0.25] }`.
 */
export function riemannRule(steps: number, method: IntegrationMethod, op = 'riemannRule'): { alphas: number[]; weights: number[] } {
  const ks = Array.from({ length: steps }, (_, k) => k);
  switch (method) {
    case 'trapezoid':
      return { alphas: ks.map((k) => k / (steps - 1)), weights: ks.map((k) => (k === 0 || k === steps - 1 ? 0.5 : 1) / (steps - 1)) };
    case 'left':
      return { alphas: ks.map((k) => k / steps), weights: ks.map(() => 1 / steps) };
    case 'right':
      return { alphas: ks.map((k) => (k + 1) / steps), weights: ks.map(() => 1 / steps) };
    case 'middle':
      return { alphas: ks.map((k) => (k + 0.5) / steps), weights: ks.map(() => 1 / steps) };
    default:
      throw new VizError(`${op}: method must be 'trapezoid', 'left', 'right' or 'middle', got '${String(method)}'`);
  }
}

function checkBroadcastsTo(t: Tensor, input: Tensor, op: string, what: string): void {
  const ok = t instanceof Tensor && t.ndim <= input.ndim && t.shape.every((s, i) => s === 1 || s === input.shape[input.ndim - t.ndim + i]);
  if (!ok) {
    const got = t instanceof Tensor ? `shape ${formatShape(t.shape)}` : typeof t;
    throw new VizError(`${op}: ${what} of ${got} does not broadcast to the input's shape ${formatShape(input.shape)}`);
  }
}

/** Options of smoothGrad. */
export interface SmoothGradOptions {
  /** Class to explain. Default: each sample's top class on the noise-free input. */
  target?: Target;
  /** Noisy copies averaged. Default 25. */
  samples?: number;
  /** Noise σ as a fraction of each sample's value range (max − min). Default 0.15. */
  noiseLevel?: number;
  /** Average squared gradients (SmoothGrad², Hooker et al.) instead of gradients. Default false. */
  squared?: boolean;
  /** Random stream of the noise. Default: the global generator. */
  generator?: Generator;
  /** Given an input (N, ...), returns the attribution to average; default the signed input gradient. */
  attribution?: (noisy: Tensor, target: Target) => Tensor;
}

/**
 * SmoothGrad: the mean over `samples` noisy copies x + N(0, σ²), σ = noiseLevel · (max − min)
 * of each sample, of an attribution (the input gradient unless options.attribution is given,
 * e.g. guided backprop).
 *
 * Args: model, input (N, ...), options (target, samples, noiseLevel, squared, generator, attribution).
 * Shape: input's shape.
 *
 * Example: `viz.smoothGrad(net, x, { samples: 50, noiseLevel: 0.1, generator: new Generator(0) })`
 */
export function smoothGrad(model: Module, input: Tensor, options: SmoothGradOptions = {}): Tensor {
  const op = 'smoothGrad';
  const samples = options.samples ?? 25;
  if (!Number.isInteger(samples) || samples < 1) throw new VizError(`${op}: samples must be an integer ≥ 1, got ${samples}`);
  const noiseLevel = options.noiseLevel ?? 0.15;
  if (!(noiseLevel >= 0)) throw new VizError(`${op}: noiseLevel must be ≥ 0, got ${noiseLevel}`);
  const target = options.target ?? targetIndices(logitsOf(model, leafInput(input, op).detach(), op), undefined, op);
  const attribution = options.attribution ?? ((noisy: Tensor, t: Target) => inputGradient(model, noisy, t, op).gradient);
  const flat = input.detach().reshape([input.shape[0], -1]);
  const range = flat.amax(1).sub(flat.amin(1)).reshape([input.shape[0], ...input.shape.slice(1).map(() => 1)]);
  const sigma = range.mul(noiseLevel);
  let total: Tensor | null = null;
  for (let s = 0; s < samples; s++) {
    const noise = randn(input.shape, { dtype: input.dtype, generator: options.generator }).mul(sigma);
    const a = attribution(input.detach().add(noise), target);
    if (!sameShape(a.shape, input.shape)) throw new VizError(`${op}: the attribution returned shape ${formatShape(a.shape)}; expected the input's ${formatShape(input.shape)}`);
    const term = options.squared === true ? a.square() : a;
    total = total === null ? term : total.add(term);
  }
  return total!.div(samples);
}
