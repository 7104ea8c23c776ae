/**
 * softmaxCrossEntropy: log-softmax and the negative log-likelihood of class-index targets in
 * one fused, numerically stable kernel (log-sum-exp), with class weights, label smoothing and
 * an ignore index, and a backward kernel of its own (not twice differentiable, like softmax).
 * The losses of nn (F.crossEntropy) reduce its per-sample output.
 */
import { getBackend } from '../backend/index.js';
import type { CrossEntropyConfig } from '../backend/fused-configs.js';
import { allocateOutput, type FloatArray } from '../dtype.js';
import { DTypeError, ShapeError } from '../errors.js';
import { record } from '../autograd/engine.js';
import { formatShape, numelOf, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { checkTensor } from './cast.js';
import { int32Indices } from './indices.js';

/** Options of softmaxCrossEntropy. */
export interface SoftmaxCrossEntropyOptions {
  /** Per-class weights (C), of the input's dtype; default all ones. */
  weight?: Tensor | null;
  /** Targets equal to this give loss 0 and no gradient. Default −100. */
  ignoreIndex?: number;
  /** ε in [0, 1]: targets become (1 − ε)·onehot + ε/C. Default 0. */
  labelSmoothing?: number;
}

/**
 * The (outer, n, inner) block of a cross-entropy input: classes on dim 1 of (N, C, d1, ...),
 * or on dim 0 of a single sample (C). Checks the target's shape against it.
 */
export function crossEntropyBlock(op: string, input: Tensor, target: Tensor): Omit<CrossEntropyConfig, 'ignoreIndex' | 'labelSmoothing'> {
  if (input.ndim === 0) throw new ShapeError(`${op}: input must have a class dim, got a 0-d tensor`);
  const classDim = input.ndim === 1 ? 0 : 1;
  const expected = input.shape.filter((_, d) => d !== classDim);
  if (!sameShape(target.shape, expected)) {
    throw new ShapeError(`${op}: input of shape ${formatShape(input.shape)} needs class-index targets of shape ${formatShape(expected)}, got ${formatShape(target.shape)}`);
  }
  return { outer: input.ndim === 1 ? 1 : input.shape[0], n: input.shape[classDim], inner: numelOf(input.shape.slice(2)) };
}

/**
 * Class-index targets as int32: int32 as they are, int64 converted (with a range check); any
 * other dtype is a DTypeError ("crossEntropy: class-index targets must be int32 or int64, got
 * float32 [4]").
 */
export function classTargets(op: string, target: Tensor): Tensor {
  return int32Indices(op, 'class-index targets', target);
}

/** Throws a RangeError naming the first target that is neither ignoreIndex nor a class. target: int32 (from classTargets). */
export function checkClassTargets(op: string, target: Tensor, classes: number, ignoreIndex: number): void {
  if (target.dtype !== 'int32') throw new DTypeError(`${op}: class-index targets must be int32 or int64, got ${target.dtype} ${formatShape(target.shape)}`);
  const t = target.data as Int32Array;
  for (let s = 0; s < t.length; s++) {
    if (t[s] !== ignoreIndex && (t[s] < 0 || t[s] >= classes)) {
      throw new RangeError(`${op}: target ${t[s]} at position ${s} is out of range for ${classes} classes (ignoreIndex ${ignoreIndex})`);
    }
  }
}

/**
 * Per-sample cross-entropy of logits against class indices, unreduced:
 * loss_s = (1 − ε)·w_t·(lse − x_t) + ε/C·Σ_c w_c·(lse − x_c), 0 where t == ignoreIndex.
 *
 * Args: input: logits (N, C), (N, C, d1, ...) or (C); target: int32 or int64 (N), (N, d1, ...) or ().
 * Shape: the output has the target's shape.
 * Example: `softmaxCrossEntropy(logits, labels).mean()`.
 */
export function softmaxCrossEntropy(input: Tensor, classTarget: Tensor, options: SoftmaxCrossEntropyOptions = {}): Tensor {
  const op = 'softmaxCrossEntropy';
  checkTensor(op, input);
  const target = classTargets(op, classTarget);
  if (input.dtype !== 'float32' && input.dtype !== 'float64') throw new DTypeError(`${op}: input must be float, got ${input.dtype}`);
  const c: CrossEntropyConfig = {
    ...crossEntropyBlock(op, input, target),
    ignoreIndex: options.ignoreIndex ?? -100,
    labelSmoothing: options.labelSmoothing ?? 0,
  };
  if (!(c.labelSmoothing >= 0 && c.labelSmoothing <= 1)) throw new RangeError(`${op}: labelSmoothing must be in [0, 1], got ${c.labelSmoothing}`);
  checkClassTargets(op, target, c.n, c.ignoreIndex);
  const weight = classWeights(op, options.weight ?? null, input, c.n);
  const x = input.data as FloatArray;
  const t = target.data as Int32Array;
  const loss = allocateOutput(input.dtype, t.length) as FloatArray;
  const lse = allocateOutput(input.dtype, t.length) as FloatArray;
  getBackend().softmaxCrossEntropy(x, t, weight, loss, lse, c);
  return record(new Tensor(loss, target.shape, input.dtype), op, [input], (g) => {
    const gx = allocateOutput(input.dtype, input.numel) as FloatArray;
    const gLoss = (g.dtype === input.dtype ? g : g.to(input.dtype)).data as FloatArray;
    getBackend().softmaxCrossEntropyBackward(x, t, weight, lse, gLoss, gx, c);
    return [new Tensor(gx, input.shape, input.dtype)];
  });
}

/** The class weights as an array of the input's dtype, or null; checks their shape. */
export function classWeights(op: string, weight: Tensor | null, input: Tensor, classes: number): FloatArray | null {
  if (weight === null) return null;
  if (weight.ndim !== 1 || weight.shape[0] !== classes) {
    throw new ShapeError(`${op}: weight must have shape [${classes}] (one per class), got ${formatShape(weight.shape)}`);
  }
  return (weight.dtype === input.dtype ? weight : weight.to(input.dtype)).data as FloatArray;
}
