/**
 * Shape arithmetic shared by every op: element counts, strides, dim normalisation and
 * broadcasting plans. Shapes are plain `number[]`, row-major, outermost dim first.
 */
import type { BroadcastPlan } from './backend/backend.js';
import { ShapeError } from './errors.js';

/** A tensor shape, outermost dim first. `[]` is a scalar. */
export type Shape = readonly number[];

/** The number of elements of a tensor of `shape` (1 for a scalar). */
export function numelOf(shape: Shape): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

/** Row-major element strides of a contiguous tensor of `shape`. Example: [2, 3, 4] → [12, 4, 1]. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

/** `[2, 3]` as a string, for error messages. */
export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** True when both shapes have the same dims. */
export function sameShape(a: Shape, b: Shape): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Normalises a possibly negative dim for a tensor of rank `ndim` (−1 is the last dim).
 * Throws a ShapeError naming `op` when it is out of range.
 */
export function normalizeDim(dim: number, ndim: number, op: string): number {
  if (!Number.isInteger(dim) || dim < -ndim || dim >= Math.max(ndim, 1)) {
    throw new ShapeError(`${op}: dim ${dim} is out of range for a tensor of rank ${ndim}`);
  }
  return dim < 0 ? dim + Math.max(ndim, 1) : dim;
}

/**
 * The dim an op along one dim works on: normalizeDim, except that a 0-d tensor takes dim 0 or
 * −1 (as in PyTorch, where it behaves as one element along that dim).
 */
export function dimOf(op: string, x: { readonly ndim: number }, dim: number): number {
  return x.ndim === 0 && (dim === 0 || dim === -1) ? 0 : normalizeDim(dim, x.ndim, op);
}

/**
 * Checks that `shape` is a list of integer sizes in [0, 2^53) whose non-zero sizes multiply to
 * at most 2^53 (so an empty shape with a huge dim is still caught); throws a ShapeError naming `op`.
 */
export function checkShape(shape: readonly number[], op: string): void {
  if (!Array.isArray(shape)) throw new ShapeError(`${op}: shape must be an array of sizes, got ${String(shape)}`);
  let nonzeroProduct = 1;
  for (const s of shape) {
    if (!Number.isSafeInteger(s) || s < 0) {
      throw new ShapeError(`${op}: shape ${formatShape(shape)} has an invalid size ${s}; sizes are integers in [0, 2^53)`);
    }
    if (s > 0) nonzeroProduct *= s;
  }
  if (nonzeroProduct > Number.MAX_SAFE_INTEGER) {
    throw new ShapeError(`${op}: shape ${formatShape(shape)} is too large: the product of its sizes exceeds 2^53`);
  }
}

/**
 * The shape two operands broadcast to (NumPy/PyTorch rules: align trailing dims; a dim of
 * 1 stretches). Throws a ShapeError naming `op` and both shapes when they cannot broadcast.
 */
export function broadcastShapes(a: Shape, b: Shape, op: string): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 1; i <= n; i++) {
    const da = i <= a.length ? a[a.length - i] : 1;
    const db = i <= b.length ? b[b.length - i] : 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        `${op}: shapes ${formatShape(a)} and ${formatShape(b)} cannot broadcast (dim -${i}: ${da} vs ${db})`,
      );
    }
    out[n - i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Strides to read an operand of `shape` as if it had `outShape` (0 along broadcast dims).
 * `shape` must broadcast to `outShape`.
 */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const strides = new Array<number>(outShape.length).fill(0);
  const own = contiguousStrides(shape);
  const offset = outShape.length - shape.length;
  for (let d = 0; d < shape.length; d++) {
    strides[d + offset] = shape[d] === 1 ? 0 : own[d];
  }
  return strides;
}

/**
 * The kernel's plan for a broadcasting binary op, or null when no plan is needed (each
 * operand has either every element of the output or exactly one). Adjacent dims that step
 * alike in both operands are merged, so the kernel's loop nest is as shallow as possible.
 */
export function makeBroadcastPlan(aShape: Shape, bShape: Shape, outShape: Shape): BroadcastPlan | null {
  const outNumel = numelOf(outShape);
  const aNumel = numelOf(aShape);
  const bNumel = numelOf(bShape);
  if ((aNumel === outNumel || aNumel === 1) && (bNumel === outNumel || bNumel === 1)) return null;
  const as = broadcastStrides(aShape, outShape);
  const bs = broadcastStrides(bShape, outShape);
  const shape: number[] = [];
  const aStrides: number[] = [];
  const bStrides: number[] = [];
  for (let d = 0; d < outShape.length; d++) {
    if (outShape[d] === 1) continue;
    const last = shape.length - 1;
    const mergeable =
      last >= 0 && aStrides[last] === as[d] * outShape[d] && bStrides[last] === bs[d] * outShape[d];
    if (mergeable) {
      shape[last] *= outShape[d];
      aStrides[last] = as[d];
      bStrides[last] = bs[d];
    } else {
      shape.push(outShape[d]);
      aStrides.push(as[d]);
      bStrides.push(bs[d]);
    }
  }
  return { shape: Int32Array.from(shape), aStrides: Int32Array.from(aStrides), bStrides: Int32Array.from(bStrides) };
}

/**
 * The kernel's plan for a binary op whose operands are strided views: like makeBroadcastPlan,
 * with each operand stepped by its own strides (0 along dims it broadcasts over) from its
 * first element. Adjacent dims that step alike in both operands are merged.
 *
 * Args: outShape; each operand's shape and element strides (one per dim of its shape).
 */
export function makeStridedPlan(
  outShape: Shape,
  aShape: Shape,
  aOwnStrides: readonly number[],
  bShape: Shape,
  bOwnStrides: readonly number[],
): BroadcastPlan {
  const as = operandStrides(aShape, aOwnStrides, outShape);
  const bs = operandStrides(bShape, bOwnStrides, outShape);
  const shape: number[] = [];
  const aStrides: number[] = [];
  const bStrides: number[] = [];
  for (let d = 0; d < outShape.length; d++) {
    if (outShape[d] === 1) continue;
    const last = shape.length - 1;
    if (last >= 0 && aStrides[last] === as[d] * outShape[d] && bStrides[last] === bs[d] * outShape[d]) {
      shape[last] *= outShape[d];
      aStrides[last] = as[d];
      bStrides[last] = bs[d];
    } else {
      shape.push(outShape[d]);
      aStrides.push(as[d]);
      bStrides.push(bs[d]);
    }
  }
  return { shape: Int32Array.from(shape), aStrides: Int32Array.from(aStrides), bStrides: Int32Array.from(bStrides) };
}

/** An operand's strides aligned with outShape (0 along dims it broadcasts over). */
function operandStrides(shape: Shape, strides: readonly number[], outShape: Shape): number[] {
  const out = new Array<number>(outShape.length).fill(0);
  const lead = outShape.length - shape.length;
  for (let d = 0; d < shape.length; d++) out[d + lead] = shape[d] === 1 ? 0 : strides[d];
  return out;
}

/** Splits `shape` around `dim` into the (outer, n, inner) block reduction kernels see. */
export function blockAround(shape: Shape, dim: number): { outer: number; n: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let d = 0; d < dim; d++) outer *= shape[d];
  for (let d = dim + 1; d < shape.length; d++) inner *= shape[d];
  return { outer, n: shape[dim], inner };
}

/**
 * The most steps one op may take (multiply-adds, visited rows, kernel taps) and the most
 * elements it may touch: 2^48, hours of work on any machine. The native bindings hold the same
 * bound (kMaxWork in native/bindings/args.h).
 */
export const MAX_WORK = 2 ** 48;

/**
 * Rejects sizes whose work is absurd, before anything is allocated or looped over: the product
 * of `sizes` (a zero counted as one, since a loop over a huge dim of empty rows still takes its
 * steps) must be at most MAX_WORK.
 *
 * Args: op for the message; what the sizes measure ("the output", "the padded input"); the
 * sizes as [name, value] pairs.
 * Example: `checkWork('maxPool2d', 'the windows', [['planes', 1], ['kernelH', 2e9], ['kernelW', 2e9]])`
 * throws `maxPool2d: sizes planes=1, kernelH=2000000000, kernelW=2000000000 are too large: the
 * windows would take more than 2^48 steps`.
 */
export function checkWork(op: string, what: string, sizes: readonly (readonly [string, number])[]): void {
  let steps = 1;
  for (const [, value] of sizes) steps *= value > 1 ? value : 1;
  if (!(steps <= MAX_WORK)) {
    const described = sizes.map(([name, value]) => `${name}=${value}`).join(', ');
    throw new ShapeError(`${op}: sizes ${described} are too large: ${what} would take more than 2^48 steps`);
  }
}
