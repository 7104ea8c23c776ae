/** What every attribution explains: the score of a target class for each sample of a batch. */
import type { Module } from '../nn/module.js';
import { tensor } from '../ops/creation.js';
import { gather } from '../ops/index.js';
import { argmax } from '../ops/reduce.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { VizError } from './errors.js';

/**
 * The class whose score is explained: one index for every sample, one per sample (an array or
 * an int tensor of shape (N,)), or omitted for each sample's top-scoring class.
 */
export type Target = number | readonly number[] | Tensor;

/** The (N, K) output of model on x, checked. */
export function logitsOf(model: Module, x: Tensor, op: string): Tensor {
  const out = model.forward(x);
  if (!(out instanceof Tensor) || out.ndim !== 2 || out.shape[0] !== x.shape[0]) {
    const got = out instanceof Tensor ? `shape ${formatShape(out.shape)}` : typeof out;
    throw new VizError(`${op}: the model must return (N, classes) scores for an input of ${x.shape[0]} sample(s); it returned ${got}`);
  }
  return out;
}

/** The target indices (N,) as int32, each checked against the class count. */
export function targetIndices(logits: Tensor, target: Target | undefined, op: string): Tensor {
  const [n, classes] = logits.shape;
  if (target === undefined) return argmax(logits.detach(), 1);
  const list = typeof target === 'number' ? new Array<number>(n).fill(target) : target instanceof Tensor ? (target.toArray() as number[]) : [...target];
  if (list.length !== n || (target instanceof Tensor && target.ndim !== 1)) {
    throw new VizError(`${op}: target gives ${list.length} class(es) for ${n} sample(s); give one number, or one per sample`);
  }
  list.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c >= classes) throw new VizError(`${op}: target ${c} of sample ${i} is not a class index in [0, ${classes})`);
  });
  return tensor(list, { dtype: 'int32' });
}

/** Σ_n logits[n, target[n]]: one scalar whose gradient gives every sample's own attribution. */
export function targetScore(logits: Tensor, indices: Tensor): Tensor {
  return gather(logits, 1, indices.unsqueeze(1)).sum();
}

/** A leaf copy of x that requires grad (float, as attributions need). */
export function leafInput(x: Tensor, op: string): Tensor {
  if (!(x instanceof Tensor) || (x.dtype !== 'float32' && x.dtype !== 'float64') || x.ndim < 2) {
    const got = x instanceof Tensor ? `${x.dtype} of shape ${formatShape(x.shape)}` : typeof x;
    throw new VizError(`${op}: expects a float32/float64 input batch (N, ...), got ${got}`);
  }
  return x.detach().clone().requiresGrad_();
}
