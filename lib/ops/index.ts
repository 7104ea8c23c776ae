/**
 * Indexing ops: indexSelect, gather, scatterAdd (each the gradient of another) and oneHot.
 * Indices are int32 or int64 tensors; out-of-range indices throw a RangeError naming the index.
 */
import { getBackend } from '../backend/index.js';
import { allocate } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { record } from '../autograd/engine.js';
import { blockAround, formatShape, normalizeDim, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { cast, checkTensor } from './cast.js';
import { int32Indices } from './indices.js';
import { inOpContext } from '../op-context.js';

/** The int32 indices of `index` (int32, or int64 converted with a range check). */
function checkIndex(op: string, index: Tensor): Int32Array {
  return int32Indices(op, 'index', index).data as Int32Array;
}

/**
 * The entries of x at positions `index` (1-D int32) along `dim`.
 *
 * Example: rows 2 and 0 of a matrix: `indexSelect(x, 0, tensor([2, 0], { dtype: 'int32' }))`.
 */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  checkTensor('indexSelect', x);
  const idx = checkIndex('indexSelect', index);
  if (index.ndim > 1) throw new ShapeError(`indexSelect: index must be 1-D, got shape ${formatShape(index.shape)}`);
  const d = normalizeDim(dim, x.ndim, 'indexSelect');
  const { outer, n, inner } = x.ndim === 0 ? { outer: 1, n: 1, inner: 1 } : blockAround(x.shape, d);
  const shape = x.ndim === 0 ? [] : x.shape.map((s, i) => (i === d ? idx.length : s));
  const out = allocate(x.dtype, outer * idx.length * inner);
  getBackend().indexSelect(x.data, idx, out, outer, n, inner);
  const y = new Tensor(out, shape, x.dtype);
  return record(y, 'indexSelect', [x], (g) => {
    const gx = allocate(g.dtype, x.numel);
    getBackend().indexAdd(g.data, idx, gx, outer, n, inner);
    return [new Tensor(gx, x.shape, g.dtype)];
  });
}

function checkGatherShapes(op: string, x: Tensor, index: Tensor, d: number): void {
  const fits = index.ndim === x.ndim && index.shape.every((s, i) => i === d || s === x.shape[i]);
  if (!fits) {
    throw new ShapeError(
      `${op}: index of shape ${formatShape(index.shape)} must match x's shape ${formatShape(x.shape)} in every dim but ${d}`,
    );
  }
}

/**
 * out[…, j, …] = x[…, index[…, j, …], …] along `dim`; index has x's shape except along dim.
 *
 * Example: the log-probability of each target class:
 * `gather(logp, 1, unsqueeze(target, 1))` of logp (N, C) and target (N,) gives (N, 1).
 */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  checkTensor('gather', x);
  const idx = checkIndex('gather', index);
  const d = normalizeDim(dim, x.ndim, 'gather');
  checkGatherShapes('gather', x, index, d);
  const { outer, n, inner } = blockAround(x.shape, d);
  const m = index.ndim === 0 ? 1 : index.shape[d];
  const out = allocate(x.dtype, idx.length);
  getBackend().gather(x.data, idx, out, outer, n, m, inner);
  const y = new Tensor(out, index.shape, x.dtype);
  return record(y, 'gather', [x], (g) => {
    const zeros = new Tensor(allocate(g.dtype, x.numel), x.shape, g.dtype);
    return [scatterAdd(zeros, d, index, g)];
  });
}

/**
 * x with src added at positions `index` along `dim`: out[…, index[…, j, …], …] += src[…, j, …].
 * index and src share a shape, equal to x's except along dim. Differentiable in x and src.
 *
 * Example: `scatterAdd(zeros([3]), 0, tensor([0, 2, 0], { dtype: 'int32' }), tensor([1, 2, 3]))` → [4, 0, 2].
 */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  checkTensor('scatterAdd', x);
  checkTensor('scatterAdd', src);
  const idx = checkIndex('scatterAdd', index);
  const d = normalizeDim(dim, x.ndim, 'scatterAdd');
  checkGatherShapes('scatterAdd', x, index, d);
  if (!sameShape(src.shape, index.shape)) {
    throw new ShapeError(`scatterAdd: src of shape ${formatShape(src.shape)} must have index's shape ${formatShape(index.shape)}`);
  }
  const source = cast(src, x.dtype);
  const { outer, n, inner } = blockAround(x.shape, d);
  const m = index.ndim === 0 ? 1 : index.shape[d];
  const out = x.data.slice();
  getBackend().scatterAdd(source.data, idx, out, outer, n, m, inner);
  const y = new Tensor(out, x.shape, x.dtype);
  return record(y, 'scatterAdd', [x, source], (g) => [g, source.requiresGrad ? gather(g, d, index) : null]);
}

/**
 * One-hot encoding of int32 class labels: shape (…, numClasses), int32, as PyTorch's one_hot.
 * numClasses defaults to the largest label + 1. Labels outside [0, numClasses) throw.
 *
 * Example: `oneHot(tensor([0, 2], { dtype: 'int32' }), 3)` → `[[1, 0, 0], [0, 0, 1]]`.
 */
export function oneHot(labels: Tensor, numClasses?: number): Tensor {
  return inOpContext('oneHot', () => {
    const idx = checkIndex('oneHot', labels);
    let classes = numClasses ?? -1;
    if (classes === -1) for (const v of idx) classes = Math.max(classes, v + 1);
    if (!Number.isInteger(classes) || classes < 0) throw new RangeError(`oneHot: numClasses must be an integer ≥ 0, got ${numClasses}`);
    const out = allocate('int32', idx.length * classes);
    for (let i = 0; i < idx.length; i++) {
      const label = idx[i];
      if (label < 0 || label >= classes) {
        throw new RangeError(`oneHot: label ${label} at position ${i} is outside [0, ${classes})`);
      }
      out[i * classes + label] = 1;
    }
    return new Tensor(out, [...labels.shape, classes], 'int32');
  });
}
