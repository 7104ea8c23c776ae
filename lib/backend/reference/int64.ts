/**
 * int64 kernels of the reference backend: exact BigInt arithmetic on BigInt64Array storage.
 *
 * Results wrap modulo 2⁶⁴ (two's complement) as C++ int64 does in PyTorch: a BigInt64Array
 * stores `BigInt.asIntN(64, v)` of whatever is assigned. Supported: unary neg, abs, sign,
 * square; binary add, sub, mul, maximum, minimum; reductions sum, max, min. Comparisons,
 * where, copies and index ops need no int64 code of their own (they compare or move elements).
 */
import { BinaryOp, ReduceOp, UnaryOp, type BinaryOpCode, type ReduceOpCode, type UnaryOpCode } from '../backend.js';

/** out[i] = op(x[i]) for the int64 unary ops neg, abs, sign, square. x, out: (len). */
export function unaryInt64(op: UnaryOpCode, x: BigInt64Array, out: BigInt64Array): void {
  const len = x.length;
  switch (op) {
    case UnaryOp.neg:
      for (let i = 0; i < len; i++) out[i] = -x[i];
      return;
    case UnaryOp.abs:
      for (let i = 0; i < len; i++) out[i] = x[i] < 0n ? -x[i] : x[i];
      return;
    case UnaryOp.sign:
      for (let i = 0; i < len; i++) out[i] = x[i] > 0n ? 1n : x[i] < 0n ? -1n : 0n;
      return;
    case UnaryOp.square:
      for (let i = 0; i < len; i++) out[i] = x[i] * x[i];
      return;
    default:
      throw new TypeError(`unary: op code ${String(op)} is not supported for int64`);
  }
}

/** One row of an int64 `binary`: out[o + t] = op(a[ia + t·sa], b[ib + t·sb]) for t < len. */
export function binaryRowInt64(
  op: BinaryOpCode,
  a: BigInt64Array,
  ia: number,
  sa: number,
  b: BigInt64Array,
  ib: number,
  sb: number,
  out: BigInt64Array,
  o: number,
  len: number,
): void {
  const end = o + len;
  switch (op) {
    case BinaryOp.add:
      for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] + b[ib];
      return;
    case BinaryOp.sub:
      for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] - b[ib];
      return;
    case BinaryOp.mul:
      for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] * b[ib];
      return;
    case BinaryOp.maximum:
      for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] > b[ib] ? a[ia] : b[ib];
      return;
    case BinaryOp.minimum:
      for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] < b[ib] ? a[ia] : b[ib];
      return;
    default:
      throw new TypeError(`binary: op code ${String(op)} is not supported for int64`);
  }
}

/**
 * Reduces the n elements x[start + j·step], j < n, of an int64 array: the exact sum (wrapped
 * to int64 when stored), or the max / min (n ≥ 1; the op layer rejects empty axes).
 */
export function reduceLineInt64(op: ReduceOpCode, x: BigInt64Array, start: number, n: number, step: number): bigint {
  const end = start + n * step;
  if (op === ReduceOp.sum) {
    let s = 0n;
    for (let p = start; p < end; p += step) s += x[p];
    return s;
  }
  if (n < 1) throw new RangeError('reduce: max/min of an empty int64 axis');
  let m = x[start];
  if (op === ReduceOp.max) for (let p = start + step; p < end; p += step) m = x[p] > m ? x[p] : m;
  else if (op === ReduceOp.min) for (let p = start + step; p < end; p += step) m = x[p] < m ? x[p] : m;
  else throw new TypeError(`reduce: unknown op code ${String(op)}`);
  return m;
}
