/**
 * softmax and logSoftmax along one dim, each a fused, numerically stable kernel with its own
 * backward kernel (the gradient is not itself differentiable: no double backward through softmax).
 */
import { getBackend } from '../backend/index.js';
import { allocateOutput, type FloatArray } from '../dtype.js';
import { record } from '../autograd/engine.js';
import { blockAround, normalizeDim } from '../shape.js';
import { Tensor } from '../tensor.js';
import { checkTensor, toFloat } from './cast.js';

function softmaxOp(op: 'softmax' | 'logSoftmax', x: Tensor, dim: number): Tensor {
  checkTensor(op, x);
  const input = toFloat(x);
  const d = normalizeDim(dim, input.ndim, op);
  const { outer, n, inner } = input.ndim === 0 ? { outer: 1, n: 1, inner: 1 } : blockAround(input.shape, d);
  const log = op === 'logSoftmax';
  const out = allocateOutput(input.dtype, input.numel) as FloatArray;
  if (input.numel > 0) getBackend().softmax(input.data as FloatArray, out, outer, n, inner, log);
  const y = new Tensor(out, input.shape, input.dtype);
  return record(y, op, [input], (g) => {
    const gx = allocateOutput(g.dtype, g.numel) as FloatArray;
    if (gx.length > 0) getBackend().softmaxBackward(out, g.data as FloatArray, gx, outer, n, inner, log);
    return [new Tensor(gx, input.shape, g.dtype)];
  }, [y], { dim: d });
}

/**
 * exp(x) / Σ exp(x) along `dim`, computed stably.
 *
 * Example: class probabilities from logits (N, C): `softmax(logits, 1)`.
 */
export function softmax(x: Tensor, dim: number): Tensor {
  return softmaxOp('softmax', x, dim);
}

/**
 * log(softmax(x)) along `dim`, computed stably as x − logsumexp(x).
 *
 * Example: `logSoftmax(tensor([[0, 0]]), 1)` → [[-0.6931, -0.6931]].
 */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return softmaxOp('logSoftmax', x, dim);
}
