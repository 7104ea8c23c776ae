/**
 * Reductions over any set of axes with keepdim: sum, mean, amax/amin, max/min with indices,
 * argmax/argmin, var/std, logsumexp; and sumTo, the gradient of broadcasting.
 */
import { ReduceOp, type ReduceOpCode } from '../backend/backend.js';
import { getBackend } from '../backend/index.js';
import { allocate, isFloat, isHalf, type DType } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { record } from '../autograd/engine.js';
import { reportOp } from '../autograd/op-trace.js';
import { blockAround, formatShape, normalizeDim, numelOf, sameShape, type Shape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { cast, checkTensor, toFloat } from './cast.js';
import { checkInt, checkNumberList, checkNumberOrList, checkOptions, checkTensorArg } from '../validate.js';
import { abs, div, eq, exp, log, mul, sqrt, square, sub, add, where } from './elementwise.js';
import { scatterAdd } from './index.js';
import { expand, reshape } from './shape.js';
import { inOpContext } from '../op-context.js';

/** One axis, a list of axes, or undefined for all axes. */
export type Dims = number | readonly number[] | undefined;

/** The highest rank resolveDims accepts (far above any real tensor's; a larger one is a caller's mistake). */
const MAX_RANK = 1024;

/**
 * The sorted, de-duplicated, non-negative axes `dims` names for a tensor of rank `ndim`.
 *
 * Example: `resolveDims([-1, 0], 3, 'sum')` → [0, 2]; `resolveDims(undefined, 2, 'sum')` → [0, 1].
 */
export function resolveDims(dims: Dims, ndim: number, op: string): number[] {
  if (!(Number.isSafeInteger(ndim) && ndim >= 0 && ndim <= MAX_RANK)) checkInt(op, 'the rank', ndim, { min: 0, max: MAX_RANK });
  if (dims === undefined) {
    const all = new Array<number>(ndim);
    for (let d = 0; d < ndim; d++) all[d] = d;
    return all;
  }
  if (typeof dims === 'number') {
    const d = normalizeDim(dims, ndim, op);
    return d < ndim ? [d] : [];
  }
  const resolved = checkNumberOrList(op, 'dims', dims).map((d) => normalizeDim(d, ndim, op));
  if (resolved.some((d, i) => resolved.indexOf(d) !== i)) throw new ShapeError(`${op}: dims ${formatShape(dims)} repeat an axis`);
  return resolved.filter((d) => d < ndim).sort((a, b) => a - b);
}

/** x's shape with the reduced axes set to 1 (keepdim) or removed. */
function reducedShape(shape: Shape, axes: readonly number[], keepdim: boolean): number[] {
  if (keepdim) return shape.map((s, d) => (axes.includes(d) ? 1 : s));
  return shape.filter((_, d) => !axes.includes(d));
}

/** Groups sorted axes into runs of adjacent axes: [1, 2, 4] → [[1, 2], [4]]. */
function adjacentRuns(axes: readonly number[]): number[][] {
  const runs: number[][] = [];
  for (const a of axes) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last[last.length - 1] === a - 1) last.push(a);
    else runs.push([a]);
  }
  return runs;
}

/** Applies a reduction kernel over `axes`, one kernel call per run of adjacent axes. No autograd. */
function reduceRaw(op: ReduceOpCode, x: Tensor, axes: readonly number[], keepdim: boolean, dtype: DType): Tensor {
  let data = x.dtype === dtype ? x.data : cast(x, dtype).data;
  const shape = [...x.shape];
  const runs = adjacentRuns(axes);
  for (let r = runs.length - 1; r >= 0; r--) {
    const run = runs[r];
    const outer = numelOf(shape.slice(0, run[0]));
    const n = numelOf(shape.slice(run[0], run[run.length - 1] + 1));
    const inner = numelOf(shape.slice(run[run.length - 1] + 1));
    const out = allocate(dtype, outer * inner);
    getBackend().reduce(op, data, out, outer, n, inner);
    data = out;
    for (const a of run) shape[a] = 1;
  }
  return new Tensor(data, reducedShape(x.shape, axes, keepdim), dtype);
}

/** The gradient g of a reduction over `axes`, spread back to `shape`. */
function spreadBack(g: Tensor, shape: Shape, axes: readonly number[]): Tensor {
  return expand(reshape(g, reducedShape(shape, axes, true)), shape);
}

/**
 * Sum over `dims` (all when omitted); keepdim keeps them as size 1. Floats sum in their dtype
 * (float16/bfloat16 accumulate in float32, rounded back); every integer dtype and bool sums
 * exactly to int64, as in PyTorch (an int32 sum past 2^31 does not wrap).
 *
 * Example: `sum(x, 1)` of a (2, 3) gives (2,); `sum(x, [0, 1], true)` gives (1, 1).
 */
export function sum(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  checkTensor('sum', x);
  if (isHalf(x.dtype)) return cast(sum(x.float(), dims, keepdim), x.dtype);
  if (dims === undefined && !keepdim && isFloat(x.dtype)) return sumAll(x);
  const axes = resolveDims(dims, x.ndim, 'sum');
  // As PyTorch: integers and bool accumulate (exactly) in int64, so int32 sums cannot overflow.
  const dtype = isFloat(x.dtype) ? x.dtype : 'int64';
  const y = reduceRaw(ReduceOp.sum, x, axes, keepdim, dtype);
  return record(y, 'sum', [x], (g) => [spreadBack(g, x.shape, axes)], [], { dims: axes, keepdim });
}

/** sum(x) of a float tensor over every element (a loss): one kernel call, a 0-d result. */
function sumAll(x: Tensor): Tensor {
  const out = allocate(x.dtype, 1);
  getBackend().reduce(ReduceOp.sum, x.data, out, 1, x.numel, 1);
  return record(new Tensor(out, [], x.dtype), 'sum', [x], (g) => [expand(g, x.shape)]);
}

/**
 * Mean over `dims` (all when omitted); int inputs give float32. The mean of nothing is NaN.
 *
 * Example: `mean(tensor([[1, 2], [3, 4]]), 1)` → [1.5, 3.5]; `mean(tensor([1, 2]))` → 1.5 (0-d).
 */
export function mean(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  checkTensor('mean', x);
  if (isHalf(x.dtype)) return cast(mean(x.float(), dims, keepdim), x.dtype);
  const axes = resolveDims(dims, x.ndim, 'mean');
  const count = numelOf(axes.map((a) => x.shape[a]));
  return div(sum(toFloat(x), axes, keepdim), count);
}

function checkNonEmpty(x: Tensor, axes: readonly number[], op: string): void {
  if (axes.some((a) => x.shape[a] === 0) || (x.numel === 0 && axes.length === 0)) {
    throw new ShapeError(`${op}: cannot reduce an empty dim of a tensor of shape ${formatShape(x.shape)}`);
  }
}

function extremeOverDims(op: 'amax' | 'amin', x: Tensor, dims: Dims, keepdim: boolean): Tensor {
  checkTensor(op, x);
  if (isHalf(x.dtype)) return cast(extremeOverDims(op, x.float(), dims, keepdim), x.dtype);
  const axes = resolveDims(dims, x.ndim, op);
  checkNonEmpty(x, axes, op);
  const y = reduceRaw(op === 'amax' ? ReduceOp.max : ReduceOp.min, x, axes, keepdim, x.dtype);
  return record(y, op, [x], (g) => {
    // The gradient is shared evenly among the elements equal to the extreme.
    const yKeep = reshape(y, reducedShape(x.shape, axes, true));
    const hits = cast(eq(x, yKeep), g.dtype);
    const count = sum(hits, axes, true);
    return [mul(spreadBack(g, x.shape, axes), div(hits, count))];
  });
}

/**
 * Largest value over `dims` (all when omitted). Ties share the gradient evenly; NaN propagates.
 *
 * Example: `amax(tensor([[1, 5], [7, 2]]), 1)` → [5, 7].
 */
export function amax(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  return extremeOverDims('amax', x, dims, keepdim);
}

/**
 * Smallest value over `dims` (all when omitted). Ties share the gradient evenly; NaN propagates.
 *
 * Example: `amin(tensor([[1, 5], [7, 2]]), 0)` → [1, 2].
 */
export function amin(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  return extremeOverDims('amin', x, dims, keepdim);
}

/** Values and their int32 positions along one dim, from max/min. */
export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

function extremeAlongDim(op: 'max' | 'min', x: Tensor, dim: number, keepdim: boolean): ValuesIndices {
  checkTensor(op, x);
  if (isHalf(x.dtype)) {
    const { values, indices } = extremeAlongDim(op, x.float(), dim, keepdim);
    return { values: cast(values, x.dtype), indices };
  }
  const d = normalizeDim(dim, x.ndim, op);
  const axes = x.ndim === 0 ? [] : [d];
  checkNonEmpty(x, axes, op);
  const { outer, n, inner } = x.ndim === 0 ? { outer: 1, n: 1, inner: 1 } : blockAround(x.shape, d);
  const values = allocate(x.dtype, outer * inner);
  const indices = allocate('int32', outer * inner);
  getBackend().argReduce(op === 'max' ? ReduceOp.max : ReduceOp.min, x.data, values, indices, outer, n, inner);
  const shape = reducedShape(x.shape, axes, keepdim);
  const idx = new Tensor(indices, shape, 'int32');
  reportOp(`${op}Indices`, [x], idx, { dim: d, keepdim }); // no gradient, but op tracing must see it
  const v = new Tensor(values, shape, x.dtype);
  record(v, op, [x], (g) => {
    const keepShape = reducedShape(x.shape, axes, true);
    const zeros = new Tensor(allocate(g.dtype, x.numel), x.shape, g.dtype);
    return [scatterAdd(zeros, d, reshape(idx, keepShape), reshape(g, keepShape))];
  });
  return { values: v, indices: idx };
}

/**
 * Largest value along `dim` and its index (first on ties); the gradient goes to that index.
 *
 * Example: `const { values, indices } = max(scores, 1)`.
 */
export function max(x: Tensor, dim: number, keepdim = false): ValuesIndices {
  return extremeAlongDim('max', x, dim, keepdim);
}

/**
 * Smallest value along `dim` and its index (first on ties); the gradient goes to that index.
 *
 * Example: `min(tensor([[1, 5], [7, 2]]), 1)` → values [1, 2], indices [0, 1].
 */
export function min(x: Tensor, dim: number, keepdim = false): ValuesIndices {
  return extremeAlongDim('min', x, dim, keepdim);
}

/**
 * Index of the largest value along `dim` (int32), or in the flattened tensor when dim is omitted.
 *
 * Example: `argmax(tensor([[1, 5], [7, 2]]), 1)` → [1, 0] (int32).
 */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  return inOpContext('argmax', () => {
    checkTensor('argmax', x);
    if (dim === undefined) return flatArgExtreme('argmax', ReduceOp.max, x);
    return max(x, dim, keepdim).indices;
  });
}

/**
 * Index of the smallest value along `dim` (int32), or in the flattened tensor when dim is omitted.
 *
 * Example: `argmin(tensor([[1, 5], [7, 2]]), 1)` → [0, 1] (int32).
 */
export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  return inOpContext('argmin', () => {
    checkTensor('argmin', x);
    if (dim === undefined) return flatArgExtreme('argmin', ReduceOp.min, x);
    return min(x, dim, keepdim).indices;
  });
}

/** The position of the extreme of all of x's elements, a 0-d int32 tensor (no graph: indices have no gradient). */
function flatArgExtreme(op: 'argmax' | 'argmin', code: typeof ReduceOp.max | typeof ReduceOp.min, x: Tensor): Tensor {
  if (x.numel === 0) throw new ShapeError(`${op}: cannot reduce an empty tensor of shape ${formatShape(x.shape)}`);
  const values = allocate(x.dtype, 1);
  const indices = allocate('int32', 1);
  getBackend().argReduce(code, x.data, values, indices, 1, x.numel, 1);
  const result = new Tensor(indices, [], 'int32');
  reportOp(op, [x], result, {}); // no gradient, but op tracing must see it
  return result;
}

/** Options of var and std. */
export interface VarOptions {
  /** Subtracted from the count in the divisor: 1 (default) is Bessel's unbiased estimate, 0 the population variance. */
  correction?: number;
  /** Keep reduced dims as size 1. Default false. */
  keepdim?: boolean;
}

/**
 * Variance over `dims` (all when omitted), Σ(x − mean)² / (count − correction).
 *
 * Example: `variance(tensor([1, 2, 3, 4]))` → 1.6667; with `{ correction: 0 }` → 1.25.
 */
export function variance(x: Tensor, dims?: Dims, options: VarOptions = {}): Tensor {
  return inOpContext('variance', () => {
    checkTensor('var', x);
    checkOptions('var', options);
    const axes = resolveDims(dims, x.ndim, 'var');
    const count = numelOf(axes.map((a) => x.shape[a]));
    const centered = sub(toFloat(x), mean(x, axes, true));
    return div(sum(square(centered), axes, options.keepdim ?? false), Math.max(count - (options.correction ?? 1), 0));
  });
}

/**
 * Standard deviation over `dims`: √var.
 *
 * Example: `std(tensor([1, 2, 3, 4]))` → 1.2910.
 */
export function std(x: Tensor, dims?: Dims, options: VarOptions = {}): Tensor {
  return inOpContext('std', () => sqrt(variance(x, dims, options)));
}

/**
 * log Σ exp(x) over `dims`, computed stably (the max is subtracted first; infinite maxima
 * are handled). Example: `logsumexp(logits, -1)`.
 */
export function logsumexp(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  return inOpContext('logsumexp', () => {
    checkTensor('logsumexp', x);
    const axes = resolveDims(dims, x.ndim, 'logsumexp');
    const input = toFloat(x);
    const m = amax(input.detach(), axes, true);
    const shift = where(eq(abs(m), Infinity), 0, m);
    const y = add(log(sum(exp(sub(input, shift)), axes, true)), shift);
    return keepdim ? y : reshape(y, reducedShape(x.shape, axes, false));
  });
}

/**
 * Sums g down to `shape`, the shape of an operand that was broadcast to g's shape: the
 * gradient of broadcasting. Returns g itself when the shapes already match.
 *
 * Example: `sumTo(ones([2, 3]), [1, 3])` → [[2, 2, 2]].
 */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  return inOpContext('sumTo', () => {
    checkTensorArg('sumTo', 'g', g);
    checkNumberList('sumTo', 'shape', shape);
    if (sameShape(g.shape, shape)) return g;
    const lead = g.ndim - shape.length;
    const axes: number[] = [];
    for (let d = 0; d < g.ndim; d++) {
      if (d < lead || (shape[d - lead] === 1 && g.shape[d] !== 1)) axes.push(d);
    }
    return reshape(sum(g, axes, true), shape);
  });
}
