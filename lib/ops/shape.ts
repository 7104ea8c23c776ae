/**
 * Ops that move elements without computing on them. View ops (reshape/view when strides
 * allow, flatten, squeeze/unsqueeze, permute/transpose, expand, slice/narrow/select, unfold,
 * diagonal, asStrided) return tensors that share their input's storage with a new shape,
 * strides and storage offset, as PyTorch's do; their backward scatters the gradient into the
 * input's shape (the backend's `stridedScatter`). cat/stack copy; split/chunk are slices;
 * clone and contiguous() copy.
 */
import { getBackend } from '../backend/index.js';
import { allocate, promoteTypes, type DataArray } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { record } from '../autograd/engine.js';
import type { OpAttributes } from '../autograd/op-trace.js';
import { inFlightCount } from '../memory/in-flight.js';
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
import { checkNumberList } from '../validate.js';
import { sumTo } from './reduce.js';
import { inOpContext } from '../op-context.js';

/** Where a view's elements sit in storage: element i at offset + Σ i_d · strides[d]. */
interface Geometry {
  shape: number[];
  strides: number[];
  offset: number;
}

/** A view op's geometry as a function of its input's strides and storage offset (shape is fixed by the op). */
type ViewRule = (strides: readonly number[], offset: number) => Geometry;

/**
 * The view of x that `rule` describes, sharing x's storage. Its backward writes the gradient
 * into a zero tensor of x's shape through the same rule applied to x's contiguous layout
 * (summing where `overlapping` views reach one element twice: unfold, asStrided). attributes:
 * what op tracing needs to redo the view (see record).
 */
function viewBy(x: Tensor, name: string, rule: ViewRule, overlapping: boolean, attributes: OpAttributes = {}): Tensor {
  const geometry = rule(x.strides, x.storageOffset);
  const y = Tensor.fromStorage(x.storage, geometry.shape, geometry.strides, geometry.offset, x.dtype, x);
  return record(y, name, [x], (g) => [scatterBy(g, x.shape, name, rule, overlapping)], [], attributes);
}

/** A zero tensor of `shape` with g written into the view `rule` makes of it (the backward of viewBy; differentiable). */
function scatterBy(g: Tensor, shape: Shape, name: string, rule: ViewRule, overlapping: boolean): Tensor {
  const out = allocate(g.dtype, numelOf(shape));
  const geometry = rule(contiguousStrides(shape), 0);
  if (g.numel > 0) {
    const { offset, strides } = geometry;
    getBackend().stridedScatter(g.data, out, offset, Int32Array.from(g.shape), Int32Array.from(strides), overlapping);
  }
  const y = new Tensor(out, shape, g.dtype);
  return record(y, `${name}Backward`, [g], (gg) => [viewBy(gg, name, rule, overlapping)], []);
}

/**
 * x with a new shape of the same element count. One size may be −1: it is inferred. Shares
 * x's storage when x's strides allow the new shape (always for a contiguous x), else copies
 * (PyTorch's reshape).
 *
 * Example: `reshape(arange(6), [2, -1])` has shape [2, 3].
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor('reshape', x);
  const resolved = resolveShape('reshape', shape, x.numel, x.shape);
  if (sameShape(resolved, x.shape)) return x;
  const source = viewStrides(x.shape, x.strides, resolved) === null ? clone(x) : x;
  return reshapeView(source, resolved);
}

/**
 * x with a new shape of the same element count, always sharing x's storage (PyTorch's
 * view). Throws when x's strides cannot express the new shape (e.g. merging the dims of a
 * transposed matrix); reshape() or contiguous() first then.
 *
 * Example: `x.t().view([-1])` throws; `x.t().reshape([-1])` copies.
 */
export function view(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor('view', x);
  const resolved = resolveShape('view', shape, x.numel, x.shape);
  if (viewStrides(x.shape, x.strides, resolved) === null) {
    throw new ShapeError(
      `view: shape ${formatShape(resolved)} is not compatible with input of shape ${formatShape(x.shape)} and strides ` +
        `${formatShape(x.strides)} (at least one dimension spans across two contiguous subspaces); use reshape() instead`,
    );
  }
  return sameShape(resolved, x.shape) ? x : reshapeView(x, resolved);
}

/** The view of x with shape `resolved` (its strides must allow it). */
function reshapeView(x: Tensor, resolved: number[]): Tensor {
  const inShape = x.shape;
  const rule: ViewRule = (strides, offset) => ({
    shape: resolved,
    strides: viewStrides(inShape, strides, resolved) ?? contiguousStrides(resolved),
    offset,
  });
  const geometry = rule(x.strides, x.storageOffset);
  const y = Tensor.fromStorage(x.storage, geometry.shape, geometry.strides, geometry.offset, x.dtype, x);
  return record(y, 'reshape', [x], (g) => [reshape(g, inShape)], []);
}

/**
 * The strides that give a tensor of (shape, strides) the shape `target` over the same
 * storage, or null when none do (PyTorch's computeStride: every run of target dims must
 * split one run of input dims that are contiguous with each other).
 */
function viewStrides(shape: Shape, strides: readonly number[], target: readonly number[]): number[] | null {
  const numel = numelOf(shape);
  if (numel === 0 || shape.length === 0) return contiguousStrides(target);
  const out = new Array<number>(target.length);
  let viewD = target.length - 1;
  let chunkBaseStride = strides[strides.length - 1];
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    tensorNumel *= shape[d];
    if (d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== tensorNumel * chunkBaseStride)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || target[viewD] === 1)) {
        out[viewD] = viewNumel * chunkBaseStride;
        viewNumel *= target[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBaseStride = strides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewD === -1 ? out : null;
}

function resolveShape(op: string, shape: readonly number[], numel: number, from: Shape): number[] {
  checkNumberList(op, 'shape', shape);
  const inferred = shape.indexOf(-1);
  if (inferred !== shape.lastIndexOf(-1)) {
    throw new ShapeError(`${op}: only one size may be -1, got ${formatShape(shape)}`);
  }
  const known = shape.filter((_, i) => i !== inferred);
  checkShape(known, op);
  const knownNumel = numelOf(known);
  const out = [...shape];
  if (inferred >= 0) {
    if (knownNumel === 0 || numel % knownNumel !== 0) {
      throw new ShapeError(`${op}: cannot infer -1 in ${formatShape(shape)} for ${numel} elements of ${formatShape(from)}`);
    }
    out[inferred] = numel / knownNumel;
  } else if (knownNumel !== numel) {
    throw new ShapeError(`${op}: shape ${formatShape(shape)} has ${knownNumel} elements but ${formatShape(from)} has ${numel}`);
  }
  return out;
}

/** Merges dims startDim..endDim (inclusive) into one (a view when strides allow). Example: (N, C, H, W) → (N, C·H·W) with flatten(x, 1). */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  checkTensor('flatten', x);
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeDim(startDim, x.ndim, 'flatten');
  const e = normalizeDim(endDim, x.ndim, 'flatten');
  if (s > e) throw new ShapeError(`flatten: startDim ${startDim} comes after endDim ${endDim} for rank ${x.ndim}`);
  const merged = numelOf(x.shape.slice(s, e + 1));
  return reshape(x, [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}

/**
 * x with a size-1 dim inserted at `dim` (−1 appends); a view (the new dim's stride is PyTorch's).
 *
 * Example: `unsqueeze(zeros([3]), 0)` has shape [1, 3]; `unsqueeze(zeros([3]), -1)` [3, 1].
 */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  checkTensor('unsqueeze', x);
  const d = normalizeDim(dim, x.ndim + 1, 'unsqueeze');
  const strides = x.strides;
  const stride = d >= x.ndim ? 1 : x.shape[d] * strides[d];
  return sizeOneView(x, 'unsqueeze', [...x.shape.slice(0, d), 1, ...x.shape.slice(d)], [...strides.slice(0, d), stride, ...strides.slice(d)]);
}

/**
 * x without size-1 dims: all of them, or only `dim` (left alone when its size is not 1); a view.
 *
 * Example: `squeeze(zeros([1, 3, 1]))` has shape [3]; `squeeze(zeros([1, 3, 1]), 0)` [3, 1].
 */
export function squeeze(x: Tensor, dim?: number): Tensor {
  checkTensor('squeeze', x);
  const d = dim === undefined ? -1 : normalizeDim(dim, x.ndim, 'squeeze');
  const drop = (size: number, k: number): boolean => size === 1 && (d < 0 || k === d);
  if (!x.shape.some(drop)) return x;
  const strides = x.strides;
  return sizeOneView(x, 'squeeze', x.shape.filter((s, k) => !drop(s, k)), strides.filter((_, k) => !drop(x.shape[k], k)));
}

/** The view of x that only adds or drops size-1 dims; its backward reshapes the gradient back. */
function sizeOneView(x: Tensor, name: string, shape: number[], strides: number[]): Tensor {
  const y = Tensor.fromStorage(x.storage, shape, strides, x.storageOffset, x.dtype, x);
  return record(y, name, [x], (g) => [reshape(g, x.shape)], []);
}

/**
 * x with its dims reordered (a view): result dim i is x's dim `dims[i]`.
 *
 * Example: NCHW → NHWC is `permute(x, [0, 2, 3, 1])`.
 */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  checkTensor('permute', x);
  checkNumberList('permute', 'dims', dims);
  if (dims.length !== x.ndim) {
    throw new ShapeError(`permute: got ${dims.length} dims ${formatShape(dims)} for a tensor of shape ${formatShape(x.shape)}`);
  }
  const order = dims.map((d) => normalizeDim(d, x.ndim, 'permute'));
  if (new Set(order).size !== order.length) throw new ShapeError(`permute: dims ${formatShape(dims)} repeat a dim`);
  if (order.every((d, i) => d === i)) return x;
  const strides = x.strides;
  const y = Tensor.fromStorage(x.storage, order.map((d) => x.shape[d]), order.map((d) => strides[d]), x.storageOffset, x.dtype, x);
  const inverse = new Array<number>(order.length);
  order.forEach((d, i) => (inverse[d] = i));
  return record(y, 'permute', [x], (g) => [permute(g, inverse)], [], { perm: order });
}

/**
 * x with dims d0 and d1 swapped (a view).
 *
 * Example: `transpose(zeros([2, 3, 4]), 0, 2)` has shape [4, 3, 2].
 */
export function transpose(x: Tensor, d0: number, d1: number): Tensor {
  checkTensor('transpose', x);
  const dims = [...Array(x.ndim).keys()];
  const a = normalizeDim(d0, x.ndim, 'transpose');
  const b = normalizeDim(d1, x.ndim, 'transpose');
  [dims[a], dims[b]] = [dims[b], dims[a]];
  return permute(x, dims);
}

/**
 * x broadcast to `shape`, as a view with stride 0 along the broadcast dims (nothing is
 * copied). Sizes of −1 keep x's size; x's dims align with the trailing dims of `shape` and
 * must be 1 or equal.
 *
 * Example: `expand(tensor([[1], [2]]), [2, 3])` → [[1, 1, 1], [2, 2, 2]].
 */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor('expand', x);
  checkNumberList('expand', 'shape', shape);
  const lead = shape.length - x.ndim;
  if (lead < 0) throw new ShapeError(`expand: cannot expand ${formatShape(x.shape)} to fewer dims ${formatShape(shape)}`);
  const target = shape.map((s, d) => (s === -1 && d >= lead ? x.shape[d - lead] : s));
  checkShape(target, 'expand');
  for (let d = 0; d < x.ndim; d++) {
    const own = x.shape[d];
    if (own !== 1 && own !== target[d + lead]) {
      throw new ShapeError(`expand: cannot expand ${formatShape(x.shape)} to ${formatShape(shape)} (dim ${d}: ${own} vs ${target[d + lead]})`);
    }
  }
  if (sameShape(target, x.shape)) return x;
  const own = x.strides;
  const unit = broadcastStrides(x.shape, target);
  const strides = target.map((_, d) => (d < lead || unit[d] === 0 ? 0 : own[d - lead]));
  const y = Tensor.fromStorage(x.storage, target, strides, x.storageOffset, x.dtype, x);
  return record(y, 'expand', [x], (g) => [sumTo(g, x.shape)], []);
}

/**
 * Elements start, start+step, … before end along `dim` (Python slice rules: negative
 * indices count from the end, out-of-range bounds are clamped; step ≥ 1), as a view.
 *
 * Example: `slice(x, 1, 0, -1)` drops the last column of a matrix.
 */
export function slice(x: Tensor, dim: number, start = 0, end = Infinity, step = 1): Tensor {
  checkTensor('slice', x);
  const d = normalizeDim(dim, x.ndim, 'slice');
  if (!Number.isInteger(step) || step < 1) throw new RangeError(`slice: step must be an integer ≥ 1, got ${step}`);
  for (const [name, bound] of [['start', start], ['end', end]] as const) {
    if (typeof bound !== 'number' || !(Number.isInteger(bound) || bound === Infinity || bound === -Infinity)) {
      throw new RangeError(`slice: ${name} must be an integer (or ±Infinity), got ${String(bound)} (tensor ${formatShape(x.shape)}, dim ${dim})`);
    }
  }
  const size = x.shape[d];
  const clampIndex = (i: number): number => Math.min(Math.max(i < 0 ? i + size : i, 0), size);
  const from = clampIndex(start);
  const to = Math.max(clampIndex(end), from);
  const length = Math.ceil((to - from) / step);
  if (from === 0 && length === size && step === 1) return x;
  const shape = x.shape.map((s, i) => (i === d ? length : s));
  return viewBy(
    x,
    'slice',
    (strides, offset) => ({
      shape,
      strides: strides.map((s, i) => (i === d ? s * step : s)),
      offset: offset + (length > 0 ? from * strides[d] : 0),
    }),
    false,
    { dim: d, start: from, end: to, step },
  );
}

/**
 * `length` elements from `start` along `dim` (PyTorch's narrow; start must be in range), as a view.
 *
 * Example: `narrow(arange(6).reshape([2, 3]), 1, 1, 2)` → [[1, 2], [4, 5]].
 */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  checkTensor('narrow', x);
  const d = normalizeDim(dim, x.ndim, 'narrow');
  const size = x.shape[d];
  if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > size) {
    throw new RangeError(`narrow: start ${start} and length ${length} do not fit dim ${dim} of size ${size}`);
  }
  return slice(x, d, start, start + length);
}

/** The sub-tensor at `index` along `dim`, with that dim removed (a view). Example: `select(x, 0, 0)` is x's first row. */
export function select(x: Tensor, dim: number, index: number): Tensor {
  checkTensor('select', x);
  const d = normalizeDim(dim, x.ndim, 'select');
  const size = x.shape[d];
  if (!Number.isInteger(index) || index < -size || index >= size) {
    throw new RangeError(`select: index ${index} is out of range for dim ${dim} of size ${size}`);
  }
  const i = index < 0 ? index + size : index;
  const shape = x.shape.filter((_, k) => k !== d);
  return viewBy(x, 'select', (strides, offset) => ({ shape, strides: strides.filter((_, k) => k !== d), offset: offset + i * strides[d] }), false, { dim: d, index: i });
}

/**
 * Tensor.unfold: sliding windows along `dim` as a view: dim becomes the window
 * index, ⌊(size_dim − size) / step⌋ + 1 of them, and a new last dim of `size` holds each
 * window. Windows overlap when step < size (they share storage, nothing is copied).
 *
 * Shape: (…, L, …) → (…, ⌊(L − size)/step⌋ + 1, …, size).
 * Example: `tensorUnfold(arange(5), 0, 2, 1)` → [[0, 1], [1, 2], [2, 3], [3, 4]].
 */
export function tensorUnfold(x: Tensor, dim: number, size: number, step: number): Tensor {
  return inOpContext('tensorUnfold', () => {
    checkTensor('unfold', x);
    const d = x.ndim === 0 ? 0 : normalizeDim(dim, x.ndim, 'unfold');
    const length = x.ndim === 0 ? 1 : x.shape[d];
    if (!Number.isInteger(size) || size < 0 || size > length) {
      throw new RangeError(`unfold: size ${size} must be an integer in [0, ${length}] (dim ${dim} of shape ${formatShape(x.shape)})`);
    }
    if (!Number.isInteger(step) || step < 1) throw new RangeError(`unfold: step must be an integer ≥ 1, got ${step}`);
    const windows = Math.floor((length - size) / step) + 1;
    if (x.ndim === 0) return viewBy(x, 'unfold', (_, offset) => ({ shape: [size], strides: [1], offset }), true);
    const shape = [...x.shape.map((s, i) => (i === d ? windows : s)), size];
    return viewBy(
      x,
      'unfold',
      (strides, offset) => ({ shape, strides: [...strides.map((s, i) => (i === d ? s * step : s)), strides[d]], offset }),
      true,
    );
  });
}

/**
 * The diagonal of the (dim1, dim2) planes of x as a view: those dims are removed and a last
 * dim holds the diagonal. offset > 0 takes a diagonal above the main one, < 0 below.
 *
 * Shape: (…, n1, …, n2, …) → (…, len) with len = max(0, min(n1 + min(offset, 0), n2 − max(offset, 0))).
 * Example: `diagonal(eye(3))` → [1, 1, 1].
 */
export function diagonal(x: Tensor, offset = 0, dim1 = 0, dim2 = 1): Tensor {
  checkTensor('diagonal', x);
  if (x.ndim < 2) throw new ShapeError(`diagonal: needs at least 2 dims, got shape ${formatShape(x.shape)}`);
  const d1 = normalizeDim(dim1, x.ndim, 'diagonal');
  const d2 = normalizeDim(dim2, x.ndim, 'diagonal');
  if (d1 === d2) throw new ShapeError(`diagonal: dim1 and dim2 must differ, both are ${d1} for shape ${formatShape(x.shape)}`);
  if (!Number.isInteger(offset)) throw new RangeError(`diagonal: offset must be an integer, got ${offset}`);
  const length = Math.max(0, Math.min(x.shape[d1] + Math.min(offset, 0), x.shape[d2] - Math.max(offset, 0)));
  const keep = (_: number, k: number): boolean => k !== d1 && k !== d2;
  const shape = [...x.shape.filter(keep), length];
  return viewBy(
    x,
    'diagonal',
    (strides, start) => ({
      shape,
      strides: [...strides.filter(keep), strides[d1] + strides[d2]],
      offset: start + (length === 0 ? 0 : offset >= 0 ? offset * strides[d2] : -offset * strides[d1]),
    }),
    false,
  );
}

/**
 * A view of x's storage with any size, strides and storage offset (PyTorch's as_strided;
 * offset defaults to x's). Element i is storage[offset + Σ i_d · stride[d]]; every element
 * must lie inside the storage. Differentiable when x is contiguous (overlapping elements sum
 * their gradients).
 *
 * Example: `asStrided(arange(4), [3, 2], [1, 1])` → [[0, 1], [1, 2], [2, 3]].
 */
export function asStrided(x: Tensor, size: readonly number[], stride: readonly number[], storageOffset?: number): Tensor {
  checkTensor('asStrided', x);
  checkNumberList('asStrided', 'size', size);
  checkNumberList('asStrided', 'stride', stride);
  checkShape(size, 'asStrided');
  const offset = storageOffset ?? x.storageOffset;
  if (stride.length !== size.length || !stride.every((s) => Number.isInteger(s) && s >= 0)) {
    throw new ShapeError(`asStrided: stride ${formatShape(stride)} must hold one integer ≥ 0 per dim of size ${formatShape(size)}`);
  }
  if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`asStrided: storage offset must be an integer ≥ 0, got ${offset}`);
  const last = offset + size.reduce((sum, s, d) => sum + (s - 1) * stride[d], 0);
  const storageLength = x.storage.length;
  if (numelOf(size) > 0 && last >= storageLength) {
    throw new RangeError(
      `asStrided: size ${formatShape(size)}, stride ${formatShape(stride)}, offset ${offset} reach element ${last} ` +
        `of a storage of ${storageLength} elements`,
    );
  }
  const relative = offset - x.storageOffset;
  if (x.requiresGrad && (!x.isContiguous() || relative < 0 || (numelOf(size) > 0 && last - x.storageOffset >= x.numel))) {
    throw new ShapeError(
      `asStrided: with autograd the view must lie inside a contiguous input; got input strides ${formatShape(x.strides)}, ` +
        `offset ${x.storageOffset}, ${x.numel} elements and a view reaching storage elements ${offset}..${last}`,
    );
  }
  const shape = [...size];
  const strides = [...stride];
  return viewBy(x, 'asStrided', (_, base) => ({ shape, strides, offset: base + relative }), true);
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
  return record(y, 'cat', inputs, (g) => inputs.map((t, i) => (t.requiresGrad ? narrow(g, d, starts[i], t.shape[d]) : null)), [], { dim: d });
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
 *
 * Example: `split(arange(5), 2)` → [0, 1], [2, 3], [4]; `split(arange(5), [1, 4])` → [0], [1, 2, 3, 4].
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
    sections = [...checkNumberList('split', 'sizeOrSections', sizeOrSections)];
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

/**
 * Splits x into `chunks` pieces of ⌈size/chunks⌉ along `dim` (fewer when it does not divide).
 *
 * Example: `chunk(arange(6), 3)` → [0, 1], [2, 3], [4, 5].
 */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  return inOpContext('chunk', () => {
    checkTensor('chunk', x);
    if (!Number.isInteger(chunks) || chunks < 1) throw new RangeError(`chunk: chunks must be an integer ≥ 1, got ${chunks}`);
    const size = x.shape[normalizeDim(dim, x.ndim, 'chunk')];
    return split(x, Math.max(1, Math.ceil(size / chunks)), dim);
  });
}

/** A copy of contiguous x's elements made by a kernel (queued inside kiln.async), not by TypeScript. */
function copiedByKernel(x: Tensor): DataArray {
  const out = allocate(x.dtype, x.numel);
  getBackend().stridedCopy(x.storage, x.storageOffset, Int32Array.of(x.numel), Int32Array.of(1), out);
  return out;
}

/**
 * A contiguous copy of x with its own storage (differentiable).
 *
 * Example: `const y = clone(x); y.add_(1);` leaves x unchanged.
 */
export function clone(x: Tensor): Tensor {
  checkTensor('clone', x);
  let data: DataArray;
  if (!x.isContiguous()) data = x.data; // a gathered copy already
  else if (inFlightCount !== 0) data = copiedByKernel(x); // x may not be computed yet (kiln.async)
  else {
    data = allocate(x.dtype, x.numel);
    data.set(x.data as never);
  }
  const y = new Tensor(data, x.shape, x.dtype);
  return record(y, 'clone', [x], (g) => [g], []);
}
