/**
 * Reductions of the reference backend: `reduce` (sum / max / min) and `argReduce`.
 *
 * Input x is seen as (outer, n, inner) and reduced along n; element (o, j, i) sits at
 * o·n·inner + j·inner + i. Each output element is computed on its own with a double
 * accumulator, so float32 sums are as accurate as the oracle can make them.
 */
import type { DataArray, NumberArray } from '../../dtype.js';
import { ReduceOp, type ReduceOpCode } from '../backend.js';
import { checkLength } from './odometer.js';
import { rejectHalfBits } from './elementwise.js';
import { reduceLineInt64 } from './int64.js';

/**
 * Reduces x (outer, n, inner) along n into out (outer, inner).
 * sum of an empty axis is 0; max of an empty axis is -Infinity and min +Infinity.
 * max/min return NaN when the axis holds a NaN. int32 sums wrap like C++ int32; int64 sums
 * are exact BigInt sums, wrapped to int64 when stored (x and out are both int64 then).
 */
export function reduce(op: ReduceOpCode, x: DataArray, out: DataArray, outer: number, n: number, inner: number): void {
  checkLength('reduce: x', x.length, outer * n * inner);
  checkLength('reduce: out', out.length, outer * inner);
  rejectHalfBits('reduce', x);
  if (x instanceof BigInt64Array) {
    const o64 = out as BigInt64Array;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) o64[o * inner + i] = reduceLineInt64(op, x, o * n * inner + i, n, inner);
    }
    return;
  }
  const isInt = x instanceof Int32Array;
  const numbers = out as NumberArray;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const start = o * n * inner + i;
      numbers[o * inner + i] = reduceLine(op, isInt, x as NumberArray, start, n, inner);
    }
  }
}

/** Reduces the n elements x[start + j·step], j < n. */
function reduceLine(op: ReduceOpCode, isInt: boolean, x: NumberArray, start: number, n: number, step: number): number {
  const end = start + n * step;
  switch (op) {
    case ReduceOp.sum: {
      let s = 0;
      if (isInt) for (let p = start; p < end; p += step) s = (s + x[p]) | 0;
      else for (let p = start; p < end; p += step) s += x[p];
      return s;
    }
    case ReduceOp.max: {
      let m = -Infinity;
      for (let p = start; p < end; p += step) {
        const v = x[p];
        if (v !== v) return v; // NaN wins
        if (v > m) m = v;
      }
      return m;
    }
    case ReduceOp.min: {
      let m = Infinity;
      for (let p = start; p < end; p += step) {
        const v = x[p];
        if (v !== v) return v;
        if (v < m) m = v;
      }
      return m;
    }
    default:
      throw new TypeError(`reduce: unknown op code ${String(op)}`);
  }
}

/**
 * Max or min of x (outer, n, inner) along n, with its index: values and indices (outer, inner).
 * Ties give the first index; a NaN counts as the extreme, so the first NaN wins (PyTorch).
 * Requires n ≥ 1 (unless there is nothing to write).
 */
export function argReduce(
  op: typeof ReduceOp.max | typeof ReduceOp.min,
  x: DataArray,
  values: DataArray,
  indices: Int32Array,
  outer: number,
  n: number,
  inner: number,
): void {
  if (op !== ReduceOp.max && op !== ReduceOp.min) throw new TypeError(`argReduce: unknown op code ${String(op)}`);
  checkLength('argReduce: x', x.length, outer * n * inner);
  checkLength('argReduce: values', values.length, outer * inner);
  checkLength('argReduce: indices', indices.length, outer * inner);
  if (n < 1 && outer * inner > 0) throw new RangeError(`argReduce: the reduced axis is empty (n = ${n})`);
  rejectHalfBits('argReduce', x);
  const isMax = op === ReduceOp.max;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const start = o * n * inner + i;
      let best = x[start];
      let bestJ = 0;
      for (let j = 1; j < n && best === best; j++) {
        const v = x[start + j * inner];
        // Strict comparison keeps the first of equal values; a NaN always takes over and
        // then ends the scan (the loop condition stops once best is NaN). int64 elements are
        // bigints: they compare exactly and are never NaN.
        if (v !== v || (isMax ? v > best : v < best)) {
          best = v;
          bestJ = j;
        }
      }
      values[o * inner + i] = best;
      indices[o * inner + i] = bestJ;
    }
  }
}
