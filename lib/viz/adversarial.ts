/**
 * Adversarial examples: FGSM (Goodfellow et al. 2015) and PGD (Madry et al. 2018) under L∞ or
 * L2 budgets, untargeted (raise the loss of the true label) or targeted (lower the loss of a
 * chosen label), and the accuracy a model keeps under an attack.
 */
import { grad } from '../autograd/grad.js';
import { noGrad } from '../autograd/grad-mode.js';
import { crossEntropy } from '../nn/losses.js';
import type { Module } from '../nn/module.js';
import { rand, randn } from '../ops/creation.js';
import type { Generator } from '../random.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { VizError } from './errors.js';
import { leafInput, logitsOf } from './target.js';

/** The budget's norm: 'linf' (max |δ| ≤ ε) or 'l2' (‖δ‖₂ ≤ ε per sample). */
export type AttackNorm = 'linf' | 'l2';

/** Options shared by fgsm and pgd. */
export interface AttackOptions {
  /** The budget ε (in input units). Required, ≥ 0. */
  eps: number;
  /** The budget's norm. Default 'linf'. */
  norm?: AttackNorm;
  /** Labels to steer towards (targeted attack, (N,) int). Default: untargeted (away from y). */
  target?: Tensor;
  /** Valid input range; adversarial inputs are clamped to it. Default [0, 1]; null for none. */
  clamp?: readonly [number, number] | null;
}

/**
 * Fast gradient sign method: one step of size ε along sign(∇ₓ loss) (L∞), or along
 * ∇ₓ loss / ‖∇ₓ loss‖₂ (L2), up the cross-entropy of y (untargeted) or down that of target.
 *
 * Args: model (returns (N, classes) scores; call eval() first), x (N, ...), y (N,) int
 * labels, options (eps, norm, target, clamp).
 * Shape: x's shape.
 *
 * Example: `const xAdv = viz.fgsm(net, images, labels, { eps: 0.1 });`
 */
export function fgsm(model: Module, x: Tensor, y: Tensor, options: AttackOptions): Tensor {
  const op = 'fgsm';
  checkAttack(op, x, y, options);
  const norm = options.norm ?? 'linf';
  const delta = step(model, x.detach(), y, options, norm, options.eps, op);
  return noGrad(() => clampToRange(x.detach().add(delta), options.clamp));
}

/** Options of pgd. */
export interface PgdOptions extends AttackOptions {
  /** Iterations. Default 10. */
  steps?: number;
  /** Step size α. Default 2.5 · eps / steps (Madry et al.). */
  stepSize?: number;
  /** Start from a random point of the ε-ball (uniform for L∞, uniform direction and radius for L2). Default true. */
  randomStart?: boolean;
  /** Random stream of the start. Default: the global generator. */
  generator?: Generator;
}

/**
 * Projected gradient descent: `steps` FGSM-like steps of size stepSize, each followed by a
 * projection back onto the ε-ball around x (and into the clamp range).
 *
 * Args: model, x (N, ...), y (N,) int labels, options (eps, norm, target, clamp, steps,
 * stepSize, randomStart, generator).
 * Shape: x's shape.
 *
 * Example: `const xAdv = viz.pgd(net, images, labels, { eps: 0.1, steps: 20, norm: 'linf' });`
 */
export function pgd(model: Module, x: Tensor, y: Tensor, options: PgdOptions): Tensor {
  const op = 'pgd';
  checkAttack(op, x, y, options);
  const norm = options.norm ?? 'linf';
  const steps = options.steps ?? 10;
  if (!Number.isInteger(steps) || steps < 1) throw new VizError(`${op}: steps must be an integer ≥ 1, got ${steps}`);
  const stepSize = options.stepSize ?? (2.5 * options.eps) / steps;
  if (!(stepSize >= 0)) throw new VizError(`${op}: stepSize must be ≥ 0, got ${stepSize}`);
  const clean = x.detach();
  let adv = options.randomStart === false ? clean : noGrad(() => clampToRange(clean.add(randomInBall(clean, options.eps, norm, options.generator)), options.clamp));
  for (let s = 0; s < steps; s++) {
    const delta = step(model, adv, y, options, norm, stepSize, op);
    adv = noGrad(() => clampToRange(clean.add(project(adv.add(delta).sub(clean), options.eps, norm)), options.clamp));
  }
  return adv;
}

/** The perturbation of one ascent (untargeted) or descent (targeted) step of the given length. */
function step(model: Module, x: Tensor, y: Tensor, options: AttackOptions, norm: AttackNorm, length: number, op: string): Tensor {
  const leaf = leafInput(x, op);
  const logits = logitsOf(model, leaf, op);
  const labels = options.target ?? y;
  const [g] = grad(crossEntropy(logits, labels), leaf);
  return noGrad(() => {
    const direction = norm === 'linf' ? g.sign() : g.div(perSampleNorm(g).clamp(1e-12));
    return direction.mul(options.target === undefined ? length : -length);
  });
}

/** ‖t_n‖₂ of each sample, shaped (N, 1, ..., 1) to broadcast against t. */
function perSampleNorm(t: Tensor): Tensor {
  return t.reshape([t.shape[0], -1]).square().sum(1).sqrt().reshape([t.shape[0], ...t.shape.slice(1).map(() => 1)]);
}

/** δ projected onto the ε-ball of the norm. */
function project(delta: Tensor, eps: number, norm: AttackNorm): Tensor {
  if (norm === 'linf') return delta.clamp(-eps, eps);
  const scale = perSampleNorm(delta).clamp(1e-12).reciprocal().mul(eps).clamp(undefined, 1);
  return delta.mul(scale);
}

/** A random point of the ε-ball. */
function randomInBall(x: Tensor, eps: number, norm: AttackNorm, generator: Generator | undefined): Tensor {
  if (norm === 'linf') return rand(x.shape, { dtype: x.dtype, generator }).mul(2 * eps).sub(eps);
  const direction = randn(x.shape, { dtype: x.dtype, generator });
  const radius = rand([x.shape[0], ...x.shape.slice(1).map(() => 1)], { dtype: x.dtype, generator }).mul(eps);
  return direction.div(perSampleNorm(direction).clamp(1e-12)).mul(radius);
}

function clampToRange(x: Tensor, range: readonly [number, number] | null | undefined): Tensor {
  const [lo, hi] = range === undefined ? [0, 1] : range === null ? [undefined, undefined] : range;
  return lo === undefined ? x : x.clamp(lo, hi);
}

function checkAttack(op: string, x: Tensor, y: Tensor, options: AttackOptions): void {
  if (!(options?.eps >= 0)) throw new VizError(`${op}: options.eps must be a number ≥ 0, got ${String(options?.eps)}`);
  const norm = options.norm ?? 'linf';
  if (norm !== 'linf' && norm !== 'l2') throw new VizError(`${op}: norm must be 'linf' or 'l2', got '${String(norm)}'`);
  const labels = options.target ?? y;
  if (!(labels instanceof Tensor) || labels.ndim !== 1 || !(x instanceof Tensor) || labels.shape[0] !== x.shape[0]) {
    const got = labels instanceof Tensor ? `shape ${formatShape(labels.shape)}` : typeof labels;
    throw new VizError(`${op}: expects ${options.target === undefined ? 'labels y' : 'options.target'} of shape (N,) for an input of shape ${x instanceof Tensor ? formatShape(x.shape) : typeof x}, got ${got}`);
  }
}

/** An attack as robustAccuracy runs it: adversarial inputs for a batch. */
export type Attack = (model: Module, x: Tensor, y: Tensor) => Tensor;

/** What robustAccuracy measured. */
export interface RobustAccuracy {
  /** Fraction of samples classified correctly as given. */
  clean: number;
  /** Fraction classified correctly after the attack. */
  robust: number;
  /** Samples seen. */
  count: number;
}

/**
 * The accuracy of model on the batches of loader, clean and under attack.
 *
 * Args: model (eval mode is the caller's choice), loader (an iterable of [x, y] batches, e.g.
 * a DataLoader over a TensorDataset), attack (e.g. `(m, x, y) => viz.fgsm(m, x, y, { eps: 0.1 })`).
 *
 * Example:
 * ```ts
 * const { clean, robust } = viz.robustAccuracy(net.eval(), testLoader, (m, x, y) => viz.pgd(m, x, y, { eps: 0.1 }));
 * ```
 */
export function robustAccuracy(model: Module, loader: Iterable<readonly Tensor[]>, attack: Attack): RobustAccuracy {
  let clean = 0;
  let robust = 0;
  let count = 0;
  const correct = (x: Tensor, y: Tensor) => {
    const predicted = noGrad(() => logitsOf(model, x, 'robustAccuracy').argmax(1)).data as Int32Array;
    const labels = y.toArray() as number[];
    return labels.reduce((hits, label, i) => hits + (predicted[i] === label ? 1 : 0), 0);
  };
  for (const batch of loader) {
    const [x, y] = batch;
    if (!(x instanceof Tensor) || !(y instanceof Tensor)) throw new VizError('robustAccuracy: each batch of the loader must be [inputs, labels] tensors');
    clean += correct(x, y);
    robust += correct(attack(model, x, y), y);
    count += x.shape[0];
  }
  if (count === 0) throw new VizError('robustAccuracy: the loader gave no samples');
  return { clean: clean / count, robust: robust / count, count };
}
