/**
 * Ops that move elements without computing on them: reshape, permute/transpose,
 * squeeze/unsqueeze, expand, slicing, concat/stack, split/chunk, clone. kiln tensors are
 * always contiguous, so reshape shares storage and the others copy through the backend's
 * strided kernels (`stridedCopy` forward, `stridedScatter` backward).
 */
import { getBackend } from '../backend/index.js';
import { allocate, promoteTypes } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { record } from '../autograd/engine.js';
import {
  broadcastStrides,
  checkShape,
  contiguousStrides,
  formatShape,
  normalizeDim,
  numelOf,
  sameShape,
  type Shape,
} from '../shape.js';
import { Tensor } from '../tensor.js';
import { cast, checkTensor } from './cast.js';
import { sumTo } from './reduce.js';

/**
 * x with a new shape of the same element count, sharing x's storage. One size may be −1:
 * it is inferred.
 *
 * Example: `reshape(arange(6), [2, -1])` has shape [2, 3].
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor('reshape', x);
  const resolved = resolveShape(shape, x.numel, x.shape);
  if (sameShape(resolved, x.shape)) return x;
  const y = new Tensor(x.data, resolved, x.dtype);
  return record(y, 'reshape', [x], (g) => [reshape(g, x.shape)]);
}

function resolveShape(shape: readonly number[], numel: number, from: Shape): number[] {
  const inferred = shape.indexOf(-1);
  if (inferred !== shape.lastIndexOf(-1)) {
    throw new ShapeError(`reshape: only one size may be -1, got ${formatShape(shape)}`);
  }
  const known = shape.filter((_, i) => i !== inferred);
  checkShape(known, 'reshape');
  const knownNumel = numelOf(known);
  const out = [...shape];
  if (inferred >= 0) {
    if (knownNumel === 0 || numel % knownNumel !== 0) {
      throw new ShapeError(`reshape: cannot infer -1 in ${formatShape(shape)} for ${numel} elements of ${formatShape(from)}`);
    }
    out[inferred] = numel / knownNumel;
  } else if (knownNumel !== numel) {
    throw new ShapeError(`reshape: shape ${formatShape(shape)} has ${knownNumel} elements but ${formatShape(from)} has ${numel}`);
  }
  return out;
}

/** Merges dims startDim..endDim (inclusive) into one. Example: (N, C, H, W) → (N, C·H·W) with flatten(x, 1). */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  checkTensor('flatten', x);
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeDim(startDim, x.ndim, 'flatten');
  const e = normalizeDim(endDim, x.ndim, 'flatten');
  if (s > e) throw new ShapeError(`flatten: startDim ${startDim} comes after endDim ${endDim} for rank ${x.ndim}`);
  const merged = numelOf(x.shape.slice(s, e + 1));
  return reshape(x, [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}

/** x with a size-1 dim inserted at `dim` (−1 appends). */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  checkTensor('unsqueeze', x);
  const d = normalizeDim(dim, x.ndim + 1, 'unsqueeze');
  return reshape(x, [...x.shape.slice(0, d), 1, ...x.shape.slice(d)]);
}

/** x without size-1 dims: all of them, or only `dim` (left alone when its size is not 1). */
export function squeeze(x: Tensor, dim?: number): Tensor {
  checkTensor('squeeze', x);
  if (dim === undefined) return reshape(x, x.shape.filter((s) => s !== 1));
  const d = normalizeDim(dim, x.ndim, 'squeeze');
  if (x.ndim === 0 || x.shape[d] !== 1) return x;
  return reshape(x, [...x.shape.slice(0, d), ...x.shape.slice(d + 1)]);
}

/** Copies a strided view of x (offset, shape, strides in x's storage) into a new tensor. */
function gatherView(x: Tensor, offset: number, shape: Shape, strides: readonly number[]): Tensor {
  const out = allocate(x.dtype, numelOf(shape));
  if (out.length > 0) getBackend().stridedCopy(x.data, offset, Int32Array.from(shape), Int32Array.from(strides), out);
  return new Tensor(out, shape, x.dtype);
}

/** A tensor of `shape` holding x's single element everywhere (expand of one element). */
function fillLike(x: Tensor, shape: Shape): Tensor {
  const out = allocate(x.dtype, numelOf(shape));
  out.fill(x.data[0] as never); // x and out share the dtype (number or bigint alike)
  return new Tensor(out, shape, x.dtype);
}

/** A zero tensor of `shape` with g written into the strided view (offset, g's shape, strides). */
function scatterView(g: Tensor, shape: Shape, offset: number, strides: readonly number[], accumulate: boolean): Tensor {
  const out = allocate(g.dtype, numelOf(shape));
  if (g.numel > 0) {
    getBackend().stridedScatter(g.data, out, offset, Int32Array.from(g.shape), Int32Array.from(strides), accumulate);
  }
  return new Tensor(out, shape, g.dtype);
}

/**
 * x with its dims reordered: result dim i is x's dim `dims[i]`.
 *
 * Example: NCHW → NHWC is `permute(x, [0, 2, 3, 1])`.
 */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  checkTensor('permute', x);
  if (dims.length !== x.ndim) {
    throw new ShapeError(`permute: got ${dims.length} dims ${formatShape(dims)} for a tensor of shape ${formatShape(x.shape)}`);
  }
  const order = dims.map((d) => normalizeDim(d, x.ndim, 'permute'));
  if (new Set(order).size !== order.length) throw new ShapeError(`permute: dims ${formatShape(dims)} repeat a dim`);
  if (order.every((d, i) => d === i)) return x;
  const strides = contiguousStrides(x.shape);
  const y = gatherView(x, 0, order.map((d) => x.shape[d]), order.map((d) => strides[d]));
  const inverse = new Array<number>(order.length);
  order.forEach((d, i) => (inverse[d] = i));
  return record(y, 'permute', [x], (g) => [permute(g, inverse)]);
}

/** x with dims d0 and d1 swapped. */
export function transpose(x: Tensor, d0: number, d1: number): Tensor {
  checkTensor('transpose', x);
  const dims = [...Array(x.ndim).keys()];
  const a = normalizeDim(d0, x.ndim, 'transpose');
  const b = normalizeDim(d1, x.ndim, 'transpose');
  [dims[a], dims[b]] = [dims[b], dims[a]];
  return permute(x, dims);
}

/**
 * x broadcast to `shape` (copied). Sizes of −1 keep x's size; x's dims align with the
 * trailing dims of `shape` and must be 1 or equal.
 */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor('expand', x);
  const offset = shape.length - x.ndim;
  if (offset < 0) throw new ShapeError(`expand: cannot expand ${formatShape(x.shape)} to fewer dims ${formatShape(shape)}`);
  const target = shape.map((s, d) => (s === -1 && d >= offset ? x.shape[d - offset] : s));
  checkShape(target, 'expand');
  for (let d = 0; d < x.ndim; d++) {
    const own = x.shape[d];
    if (own !== 1 && own !== target[d + offset]) {
      throw new ShapeError(`expand: cannot expand ${formatShape(x.shape)} to ${formatShape(shape)} (dim ${d}: ${own} vs ${target[d + offset]})`);
    }
  }
  if (sameShape(target, x.shape)) return x;
  const y = x.numel === 1 ? fillLike(x, target) : gatherView(x, 0, target, broadcastStrides(x.shape, target));
  return record(y, 'expand', [x], (g) => [sumTo(g, x.shape)]);
}

/**
 * Elements start, start+step, … before end along `dim` (Python slice rules: negative
 * indices count from the end, out-of-range bounds are clamped; step ≥ 1).
 *
 * Example: `slice(x, 1, 0, -1)` drops the last column of a matrix.
 */
export function slice(x: Tensor, dim: number, start = 0, end = Infinity, step = 1): Tensor {
  checkTensor('slice', x);
  const d = normalizeDim(dim, x.ndim, 'slice');
  if (!Number.isInteger(step) || step < 1) throw new RangeError(`slice: step must be an integer ≥ 1, got ${step}`);
  const size = x.shape[d];
  const clampIndex = (i: number): number => Math.min(Math.max(i < 0 ? i + size : i, 0), size);
  const from = clampIndex(start);
  const to = Math.max(clampIndex(end), from);
  const length = Math.ceil((to - from) / step);
  if (from === 0 && length === size && step === 1) return x;
  const strides = contiguousStrides(x.shape);
  const offset = from * strides[d];
  const viewStrides = strides.map((s, i) => (i === d ? s * step : s));
  const shape = x.shape.map((s, i) => (i === d ? length : s));
  const y = gatherView(x, offset, shape, viewStrides);
  return record(y, 'slice', [x], (g) => [scatterView(g, x.shape, offset, viewStrides, false)]);
}

/** `length` elements from `start` along `dim` (PyTorch's narrow; start must be in range). */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  checkTensor('narrow', x);
  const d = normalizeDim(dim, x.ndim, 'narrow');
  const size = x.shape[d];
  if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > size) {
    throw new RangeError(`narrow: start ${start} and length ${length} do not fit dim ${dim} of size ${size}`);
  }
  return slice(x, d, start, start + length);
}

/** The sub-tensor at `index` along `dim`, with that dim removed. Example: `select(x, 0, 0)` is x's first row. */
export function select(x: Tensor, dim: number, index: number): Tensor {
  checkTensor('select', x);
  const d = normalizeDim(dim, x.ndim, 'select');
  const size = x.shape[d];
  if (!Number.isInteger(index) || index < -size || index >= size) {
    throw new RangeError(`select: index ${index} is out of range for dim ${dim} of size ${size}`);
  }
  const i = index < 0 ? index + size : index;
  return squeeze(narrow(x, d, i, 1), d);
}

function checkTensorList(op: string, tensors: unknown): asserts tensors is readonly Tensor[] {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new ShapeError(`${op}: expected a non-empty array of tensors`);
  tensors.forEach((t) => checkTensor(op, t));
}

/**
 * Joins tensors along an existing dim; every other dim must match. dtypes are promoted.
 *
 * Example: `cat([a, b], 0)` stacks the rows of a (2, 3) and a (4, 3) into a (6, 3).
 */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  checkTensorList('cat', tensors);
  const first = tensors[0];
  const d = normalizeDim(dim, first.ndim, 'cat');
  for (const t of tensors) {
    const fits = t.ndim === first.ndim && t.shape.every((s, i) => i === d || s === first.shape[i]);
    if (!fits) {
      throw new ShapeError(`cat: shapes ${tensors.map((x) => formatShape(x.shape)).join(', ')} differ outside dim ${dim}`);
    }
  }
  const dtype = tensors.map((t) => t.dtype).reduce(promoteTypes);
  const inputs = tensors.map((t) => cast(t, dtype));
  const outShape = first.shape.map((s, i) => (i === d ? inputs.reduce((sum, t) => sum + t.shape[d], 0) : s));
  const out = allocate(dtype, numelOf(outShape));
  const strides = contiguousStrides(outShape);
  const starts: number[] = [];
  let start = 0;
  for (const t of inputs) {
    starts.push(start);
    if (t.numel > 0) {
      getBackend().stridedScatter(t.data, out, start * strides[d], Int32Array.from(t.shape), Int32Array.from(strides), false);
    }
    start += t.shape[d];
  }
  const y = new Tensor(out, outShape, dtype);
  return record(y, 'cat', inputs, (g) => inputs.map((t, i) => (t.requiresGrad ? narrow(g, d, starts[i], t.shape[d]) : null)));
}

/** Joins same-shaped tensors along a new dim. Example: `stack([a, b])` of two (3,) gives (2, 3). */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  checkTensorList('stack', tensors);
  const shape = tensors[0].shape;
  if (!tensors.every((t) => sameShape(t.shape, shape))) {
    throw new ShapeError(`stack: all tensors must have one shape, got ${tensors.map((t) => formatShape(t.shape)).join(', ')}`);
  }
  const d = normalizeDim(dim, shape.length + 1, 'stack');
  return cat(tensors.map((t) => unsqueeze(t, d)), d);
}

/**
 * Splits x along `dim` into pieces of `sizeOrSections` elements (the last may be smaller),
 * or into pieces of the listed sizes, which must add up to the dim's size.
 */
export function split(x: Tensor, sizeOrSections: number | readonly number[], dim = 0): Tensor[] {
  checkTensor('split', x);
  const d = normalizeDim(dim, x.ndim, 'split');
  const size = x.shape[d];
  let sections: number[];
  if (typeof sizeOrSections === 'number') {
    if (!Number.isInteger(sizeOrSections) || sizeOrSections < 1) {
      throw new RangeError(`split: split size must be an integer ≥ 1, got ${sizeOrSections}`);
    }
    sections = [];
    for (let s = 0; s < size; s += sizeOrSections) sections.push(Math.min(sizeOrSections, size - s));
    if (size === 0) sections.push(0);
  } else {
    sections = [...sizeOrSections];
    checkShape(sections, 'split');
    const total = sections.reduce((a, b) => a + b, 0);
    if (total !== size) throw new ShapeError(`split: sections ${formatShape(sections)} add up to ${total}, but dim ${dim} has size ${size}`);
  }
  const pieces: Tensor[] = [];
  let start = 0;
  for (const length of sections) {
    pieces.push(narrow(x, d, start, length));
    start += length;
  }
  return pieces;
}

/** Splits x into `chunks` pieces of ⌈size/chunks⌉ along `dim` (fewer when it does not divide). */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  checkTensor('chunk', x);
  if (!Number.isInteger(chunks) || chunks < 1) throw new RangeError(`chunk: chunks must be an integer ≥ 1, got ${chunks}`);
  const size = x.shape[normalizeDim(dim, x.ndim, 'chunk')];
  return split(x, Math.max(1, Math.ceil(size / chunks)), dim);
}

/** A copy of x with its own storage (differentiable). */
export function clone(x: Tensor): Tensor {
  checkTensor('clone', x);
  const data = allocate(x.dtype, x.numel);
  data.set(x.data as never);
  const y = new Tensor(data, x.shape, x.dtype);
  return record(y, 'clone', [x], (g) => [g]);
}
