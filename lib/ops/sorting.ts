/**
 * Sorting and selection along one dim: sort, argsort, topk, kthvalue, median, mode.
 *
 * Order (PyTorch's): NaN is the largest value, −0 equals +0. sort is stable in both
 * directions (equal values keep index order), as PyTorch's CPU sort. For topk, kthvalue and
 * median, equal values are returned lower index first; PyTorch's choice among equal values
 * there is whatever its selection algorithm leaves (undocumented), so indices of tied values
 * can differ from PyTorch's while the values match. Indices are int32 (PyTorch: int64).
 * Values are differentiable: the gradient is scattered back to the picked positions.
 */
import { checkOptions } from '../validate.js';
import { getBackend } from '../backend/index.js';
import { allocate, allocateOutput, type DataArray } from '../dtype.js';
import { DTypeError, ShapeError } from '../errors.js';
import { record } from '../autograd/engine.js';
import { noGrad } from '../autograd/grad-mode.js';
import { dimOf, formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { checkTensor } from './cast.js';
import { scatterAdd } from './index.js';
import { reshape, select, squeeze, transpose, unsqueeze } from './shape.js';
import type { ValuesIndices } from './reduce.js';
import { inOpContext } from '../op-context.js';

/** x as rows along dim d: detached, dim d moved last (a copy unless d is already last). */
function rowsAlong(x: Tensor, d: number): Tensor {
  return noGrad(() => (d === x.ndim - 1 ? x.detach() : transpose(x.detach(), d, -1)));
}

/** Moves the last dim of t back to d (the inverse of rowsAlong's swap). */
function backFromRows(t: Tensor, d: number): Tensor {
  return noGrad(() => (d === t.ndim - 1 ? t : transpose(t, d, -1)));
}

/** Validates x for a sorting op on dim; returns x viewed with ≥ 1 dim and the normalized dim. */
function prepare(op: string, x: Tensor, dim: number): { input: Tensor; d: number } {
  checkTensor(op, x);
  if (x.dtype === 'bool') throw new DTypeError(`${op}: not defined for bool tensors of shape ${formatShape(x.shape)}; cast with .to('int32') first`);
  const d = dimOf(op, x, dim);
  return { input: x.ndim === 0 ? reshape(x.detach(), [1]) : x, d };
}

/**
 * Runs the backend's topk (k < n) or sort (k = n) over the rows of x along d and returns
 * values and indices with k entries along d; values carry the gradient of x.
 */
function selectAlong(op: string, x: Tensor, input: Tensor, d: number, k: number, best: 'largest' | 'smallest'): ValuesIndices {
  const rows = rowsAlong(input, d);
  const n = input.shape[d];
  const count = rows.numel / Math.max(n, 1);
  const values: DataArray = allocateOutput(input.dtype, count * k);
  const indices = allocateOutput('int32', count * k);
  const rowShape = [...rows.shape.slice(0, -1), k];
  if (k === n) getBackend().sort(rows.data, values, indices, count, n, best === 'largest');
  else getBackend().topk(rows.data, values, indices, count, n, k, best === 'largest');
  let idx = backFromRows(new Tensor(indices, rowShape, 'int32'), d);
  let v = backFromRows(new Tensor(values, rowShape, input.dtype), d);
  if (x.ndim === 0) [v, idx] = [reshape(v, []), reshape(idx, [])];
  return { values: recordPicked(op, v, x, idx, d), indices: idx };
}

/** Records values = x picked at index along d: its gradient scatters g back into zeros of x's shape. */
function recordPicked(op: string, values: Tensor, x: Tensor, index: Tensor, d: number): Tensor {
  return record(values, op, [x], (g) => {
    if (x.ndim === 0) return [g];
    const zeros = new Tensor(allocate(g.dtype, x.numel), x.shape, g.dtype);
    return [scatterAdd(zeros, d, index, g)];
  });
}

/**
 * x sorted along `dim`, with the positions the values came from (stable, NaN largest).
 *
 * Args: x; dim (default −1); descending (default false).
 * Shape: values and indices (int32) have x's shape.
 * Example: `sort(tensor([3, 1, 2]))` → values [1, 2, 3], indices [1, 2, 0].
 */
export function sort(x: Tensor, dim = -1, descending = false): ValuesIndices {
  const { input, d } = prepare('sort', x, dim);
  return selectAlong('sort', x, input, d, input.shape[d], descending ? 'largest' : 'smallest');
}

/**
 * The positions that sort x along `dim` (int32), as sort(x, dim, descending).indices.
 *
 * Example: `argsort(tensor([3, 1, 2]))` → [1, 2, 0].
 */
export function argsort(x: Tensor, dim = -1, descending = false): Tensor {
  return inOpContext('argsort', () => noGrad(() => sort(x, dim, descending).indices));
}

/** Options of topk. */
export interface TopkOptions {
  /** Dim to select along; default −1. */
  dim?: number;
  /** The k largest (default) or, when false, the k smallest. */
  largest?: boolean;
  /** Accepted for PyTorch parity: results always come best first. */
  sorted?: boolean;
}

/**
 * The k largest (or smallest) entries along a dim, best first, with their positions.
 *
 * Args: x; k in [0, size of dim]; options.dim (−1), options.largest (true).
 * Shape: values and indices (int32) have x's shape with k along dim.
 * Example: `topk(tensor([1, 5, 3]), 2)` → values [5, 3], indices [1, 2].
 */
export function topk(x: Tensor, k: number, options: TopkOptions = {}): ValuesIndices {
  return inOpContext('topk', () => {
    checkOptions('topk', options);
    const { input, d } = prepare('topk', x, options.dim ?? -1);
    const n = input.shape[d];
    if (!Number.isInteger(k) || k < 0 || k > n) {
      throw new RangeError(`topk: k=${k} is out of range for dim ${d} of size ${n} (shape ${formatShape(x.shape)}); expected 0 ≤ k ≤ ${n}`);
    }
    return selectAlong('topk', x, input, d, k, options.largest === false ? 'smallest' : 'largest');
  });
}

/** values/indices with dim d removed unless keepdim (they have size 1 along d). */
function dropDim(r: ValuesIndices, x: Tensor, d: number, keepdim: boolean): ValuesIndices {
  if (keepdim || x.ndim === 0) return r;
  return { values: squeeze(r.values, d), indices: noGrad(() => squeeze(r.indices, d)) };
}

/**
 * The k-th smallest entry along a dim (k from 1) and its position.
 *
 * Args: x; k in [1, size of dim]; dim (−1); keepdim (false).
 * Shape: x's shape without dim (size 1 with keepdim).
 * Example: `kthvalue(tensor([3, 1, 2]), 2)` → values 2, indices 2.
 */
export function kthvalue(x: Tensor, k: number, dim = -1, keepdim = false): ValuesIndices {
  const { input, d } = prepare('kthvalue', x, dim);
  const n = input.shape[d];
  if (!Number.isInteger(k) || k < 1 || k > n) {
    throw new RangeError(`kthvalue: k=${k} is out of range for dim ${d} of size ${n} (shape ${formatShape(x.shape)}); expected 1 ≤ k ≤ ${n}`);
  }
  return kthAlong('kthvalue', x, input, d, k, keepdim);
}

/** The k-th smallest along d, size 1 along d (then dropped unless keepdim). */
function kthAlong(op: string, x: Tensor, input: Tensor, d: number, k: number, keepdim: boolean): ValuesIndices {
  const smallest = noGrad(() => topk(input.detach(), k, { dim: d, largest: false }));
  const index = noGrad(() => unsqueeze(select(smallest.indices, d, k - 1), d));
  const value = noGrad(() => unsqueeze(select(smallest.values, d, k - 1), d));
  const picked = x.ndim === 0 ? { values: reshape(value, []), indices: reshape(index, []) } : { values: value, indices: index };
  return dropDim({ values: recordPicked(op, picked.values, x, picked.indices, d), indices: picked.indices }, x, d, keepdim);
}

/**
 * The lower median: of all elements (a 0-d tensor) without dim, else along dim with its
 * position. A NaN in a line makes its median NaN (the first NaN's position), as in PyTorch.
 *
 * Example: `median(tensor([4, 1, 3, 2]))` → 2.
 */
export function median(x: Tensor): Tensor;
export function median(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function median(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  checkTensor('median', x);
  if (dim === undefined) {
    if (x.numel === 0) throw new ShapeError(`median: the tensor is empty (shape ${formatShape(x.shape)})`);
    return median(reshape(x, [-1]), 0).values;
  }
  const { input, d } = prepare('median', x, dim);
  const n = input.shape[d];
  if (n === 0) throw new ShapeError(`median: dim ${d} of shape ${formatShape(x.shape)} is empty`);
  const lower = Math.floor((n - 1) / 2) + 1;
  if (!input.data.some((v) => v !== v)) return kthAlong('median', x, input, d, lower, keepdim);
  return medianWithNaN(x, input, d, lower, keepdim);
}

/** Median along d where some lines hold NaN: those take their first NaN. */
function medianWithNaN(x: Tensor, input: Tensor, d: number, lower: number, keepdim: boolean): ValuesIndices {
  const rows = rowsAlong(input, d);
  const n = input.shape[d];
  const lowerIdx = rowsAlong(noGrad(() => kthAlong('median', x, input, d, lower, true).indices), d).data as Int32Array;
  const index = new Int32Array(lowerIdx.length);
  for (let r = 0; r < index.length; r++) {
    let pick = lowerIdx[r];
    for (let j = 0; j < n; j++) {
      const v = rows.data[r * n + j];
      if (v !== v) {
        pick = j;
        break;
      }
    }
    index[r] = pick;
  }
  return pickAt('median', x, input, d, index, keepdim);
}

/** Values of x at per-line positions (rows along d) with their gradient; size 1 along d, dropped unless keepdim. */
function pickAt(op: string, x: Tensor, input: Tensor, d: number, rowIndex: Int32Array, keepdim: boolean): ValuesIndices {
  const rows = rowsAlong(input, d);
  const n = input.shape[d];
  const values = allocateOutput(input.dtype, rowIndex.length);
  for (let r = 0; r < rowIndex.length; r++) values[r] = rows.data[r * n + rowIndex[r]];
  const rowShape = [...rows.shape.slice(0, -1), 1];
  let idx = backFromRows(new Tensor(rowIndex, rowShape, 'int32'), d);
  let v = backFromRows(new Tensor(values, rowShape, input.dtype), d);
  if (x.ndim === 0) [v, idx] = [reshape(v, []), reshape(idx, [])];
  return dropDim({ values: recordPicked(op, v, x, idx, d), indices: idx }, x, d, keepdim);
}

/**
 * The most frequent value along a dim and a position of it: ties between values go to the
 * smallest value, and the position is its last occurrence (as PyTorch's CPU mode).
 *
 * Example: `mode(tensor([2, 1, 2, 1]))` → values 1, indices 3.
 */
export function mode(x: Tensor, dim = -1, keepdim = false): ValuesIndices {
  const { input, d } = prepare('mode', x, dim);
  const n = input.shape[d];
  if (n === 0) throw new ShapeError(`mode: dim ${d} of shape ${formatShape(x.shape)} is empty`);
  const sorted = noGrad(() => sort(input.detach(), d));
  const values = rowsAlong(sorted.values, d).data;
  const positions = rowsAlong(sorted.indices, d).data as Int32Array;
  const index = new Int32Array(values.length / n);
  for (let r = 0; r < index.length; r++) index[r] = modeOfSortedRow(values, positions, r * n, n);
  return pickAt('mode', x, input, d, index, keepdim);
}

/** The last position of the most frequent value in one sorted row (equal counts: smallest value). */
function modeOfSortedRow(values: DataArray, positions: Int32Array, start: number, n: number): number {
  let bestCount = 0;
  let bestPosition = positions[start];
  for (let j = 0; j < n; ) {
    let end = j + 1;
    let last = positions[start + j];
    const v = values[start + j];
    while (end < n && (values[start + end] === v || (v !== v && values[start + end] !== values[start + end]))) {
      last = Math.max(last, positions[start + end]);
      end++;
    }
    if (end - j > bestCount) [bestCount, bestPosition] = [end - j, last];
    j = end;
  }
  return bestPosition;
}
