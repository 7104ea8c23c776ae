/**
 * Reordering and tiling ops: flip, roll, repeat, tile, repeatInterleave. flip is one strided
 * copy (negative strides); the others are written with reshape, expand and indexSelect, so
 * every one is differentiable (and twice differentiable) on both backends.
 */
import { getBackend } from '../backend/index.js';
import { allocate, allocateOutput } from '../dtype.js';
import { DTypeError, ShapeError } from '../errors.js';
import { record } from '../autograd/engine.js';
import { contiguousStrides, formatShape, normalizeDim } from '../shape.js';
import { Tensor } from '../tensor.js';
import { checkTensor } from './cast.js';
import { checkNumberList, checkNumberOrList } from '../validate.js';
import { indexSelect } from './index.js';
import { expand, reshape } from './shape.js';
import { inOpContext } from '../op-context.js';

/** Distinct dims, normalized; throws naming op when one repeats. */
function distinctDims(op: string, dims: number | readonly number[], ndim: number): number[] {
  const list = checkNumberOrList(op, 'dims', dims).map((d) => normalizeDim(d, ndim, op));
  if (new Set(list).size !== list.length) throw new ShapeError(`${op}: dims [${dims.toString()}] repeat a dim`);
  return list;
}

/**
 * x with the order of elements reversed along each of `dims`.
 *
 * Args: x; dims: a dim or a list (negative counts from the end).
 * Shape: same as x.
 * Example: `flip(tensor([[1, 2], [3, 4]]), 1)` → [[2, 1], [4, 3]].
 */
export function flip(x: Tensor, dims: number | readonly number[]): Tensor {
  checkTensor('flip', x);
  // A 0-d tensor takes dim 0 or -1, as in PyTorch, and has nothing to reverse.
  const flipped = distinctDims('flip', dims, Math.max(x.ndim, 1)).filter((d) => d < x.ndim);
  const strides = contiguousStrides(x.shape);
  let offset = 0;
  for (const d of flipped) {
    offset += (x.shape[d] - 1) * strides[d];
    strides[d] = -strides[d];
  }
  const out = allocateOutput(x.dtype, x.numel);
  if (x.numel > 0) getBackend().stridedCopy(x.data, offset, Int32Array.from(x.shape), Int32Array.from(strides), out);
  return record(new Tensor(out, x.shape, x.dtype), 'flip', [x], (g) => [flip(g, flipped)]);
}

/** Positions (i − shift) mod n for i < n: the source of each element after a roll by shift. */
function rolledIndex(n: number, shift: number): Tensor {
  const index = new Int32Array(n);
  for (let i = 0; i < n; i++) index[i] = (((i - shift) % n) + n) % n;
  return new Tensor(index, [n], 'int32');
}

/**
 * x with its elements shifted by `shifts` along `dims`, wrapping around (torch.roll). Without
 * dims the tensor is rolled as if flattened, then restored to its shape.
 *
 * Args: x; shifts: a number or one per dim (negative shifts go left); dims: a dim or a list.
 * Shape: same as x.
 * Example: `roll(tensor([1, 2, 3, 4]), 1)` → [4, 1, 2, 3].
 */
export function roll(x: Tensor, shifts: number | readonly number[], dims?: number | readonly number[]): Tensor {
  checkTensor('roll', x);
  const shiftList = [...checkNumberOrList('roll', 'shifts', shifts)];
  if (!shiftList.every(Number.isInteger)) throw new RangeError(`roll: shifts must be integers, got [${shiftList.toString()}]`);
  if (dims === undefined) {
    if (shiftList.length !== 1) throw new ShapeError(`roll: without dims give one shift, got [${shiftList.toString()}]`);
    if (x.numel === 0) return x;
    return reshape(indexSelect(reshape(x, [-1]), 0, rolledIndex(x.numel, shiftList[0])), x.shape);
  }
  const dimList = checkNumberOrList('roll', 'dims', dims).map((d) => normalizeDim(d, x.ndim, 'roll'));
  if (dimList.length !== shiftList.length) {
    throw new ShapeError(`roll: ${shiftList.length} shifts for ${dimList.length} dims; give one shift per dim`);
  }
  let y = x;
  dimList.forEach((d, i) => {
    if (x.shape[d] > 0) y = indexSelect(y, d, rolledIndex(x.shape[d], shiftList[i]));
  });
  return y;
}

/**
 * x repeated `sizes[d]` times along each dim (torch.Tensor.repeat): sizes has at least
 * x.ndim entries; extra leading ones add dims.
 *
 * Args: x; sizes: repetitions per dim (integers ≥ 0).
 * Shape: (sizes[0]·s0, sizes[1]·s1, …) with x's shape s padded with leading 1s.
 * Example: `repeat(tensor([1, 2]), [2, 2])` → [[1, 2, 1, 2], [1, 2, 1, 2]].
 */
export function repeat(x: Tensor, sizes: readonly number[]): Tensor {
  checkTensor('repeat', x);
  checkNumberList('repeat', 'sizes', sizes);
  if (sizes.length < x.ndim) {
    throw new ShapeError(`repeat: sizes [${sizes.toString()}] must have at least as many entries as x has dims (shape ${formatShape(x.shape)})`);
  }
  if (!sizes.every((s) => Number.isInteger(s) && s >= 0)) throw new RangeError(`repeat: sizes must be integers ≥ 0, got [${sizes.toString()}]`);
  const padded = [...new Array<number>(sizes.length - x.ndim).fill(1), ...x.shape];
  const interleaved = padded.flatMap((s) => [1, s]);
  const expanded = padded.flatMap((s, d) => [sizes[d], s]);
  return reshape(expand(reshape(x, interleaved), expanded), padded.map((s, d) => s * sizes[d]));
}

/**
 * x tiled `reps` times per dim (torch.tile): like repeat, but fewer reps than dims are padded
 * with leading 1s.
 *
 * Args: x; reps: repetitions per dim (integers ≥ 0).
 * Example: `tile(tensor([[1, 2]]), [2])` → [[1, 2, 1, 2]].
 */
export function tile(x: Tensor, reps: readonly number[]): Tensor {
  return inOpContext('tile', () => {
    checkTensor('tile', x);
    checkNumberList('tile', 'reps', reps);
    const padded = reps.length < x.ndim ? [...new Array<number>(x.ndim - reps.length).fill(1), ...reps] : reps;
    return repeat(x, padded);
  });
}

/**
 * Each element of x repeated along `dim` (torch.repeat_interleave); without dim x is
 * flattened first.
 *
 * Args: x; repeats: a count for every element, or an int32 1-D tensor of one count per
 * position along dim (or a single count); dim.
 * Example: `repeatInterleave(tensor([1, 2]), 2)` → [1, 1, 2, 2].
 */
export function repeatInterleave(x: Tensor, repeats: number | Tensor, dim?: number): Tensor {
  return inOpContext('repeatInterleave', () => {
    checkTensor('repeatInterleave', x);
    const input = dim === undefined ? reshape(x, [-1]) : x;
    const d = dim === undefined ? 0 : normalizeDim(dim, x.ndim, 'repeatInterleave');
    const n = input.ndim === 0 ? 1 : input.shape[d];
    const counts = repeatCounts(repeats, n);
    const index = allocate('int32', counts.reduce((a, b) => a + b, 0));
    let at = 0;
    counts.forEach((c, i) => {
      index.fill(i, at, at + c);
      at += c;
    });
    return indexSelect(input, d, new Tensor(index, [index.length], 'int32'));
  });
}

/** One repeat count per position, validated. */
function repeatCounts(repeats: number | Tensor, n: number): number[] {
  let counts: number[];
  if (typeof repeats === 'number') {
    counts = new Array<number>(n).fill(repeats);
  } else {
    checkTensor('repeatInterleave', repeats);
    if (repeats.dtype !== 'int32') throw new DTypeError(`repeatInterleave: repeats must be an int32 tensor, got ${repeats.dtype}`);
    if (repeats.ndim > 1 || (repeats.numel !== n && repeats.numel !== 1)) {
      throw new ShapeError(`repeatInterleave: repeats of shape ${formatShape(repeats.shape)} must have 1 or ${n} elements (one per position along dim)`);
    }
    counts = repeats.numel === 1 ? new Array<number>(n).fill(Number(repeats.data[0])) : Array.from(repeats.data, Number);
  }
  if (!counts.every((c) => Number.isInteger(c) && c >= 0)) throw new RangeError(`repeatInterleave: repeats must be integers ≥ 0, got [${counts.slice(0, 8).toString()}]`);
  return counts;
}
