/**
 * Elementwise kernels of the reference backend: unary, binary, compare, where, clamp.
 *
 * Each kernel switches on the op once and then runs a plain indexed loop, so there is no
 * dispatch per element. Broadcasting in `binary`/`compare` walks the plan's coalesced shape
 * with the shared odometer (`forEachRow`), one innermost row at a time.
 */
import type { DataArray, FloatArray, NumberArray } from '../../dtype.js';
import {
  BinaryOp,
  CompareOp,
  UnaryOp,
  type BinaryOpCode,
  type BroadcastPlan,
  type CompareOpCode,
  type UnaryOpCode,
} from '../backend.js';
import { checkLength, checkStridedBounds, forEachRow, numel, rowLength, rowStride } from './odometer.js';
import { erf } from './erf.js';
import { binaryRowInt64, unaryInt64 } from './int64.js';

/**
 * Throws for float16/bfloat16 storage (the only Uint16Array kiln has): arithmetic on their bit
 * patterns would be nonsense, the op layer computes on them in float32.
 */
export function rejectHalfBits(what: string, x: DataArray): void {
  if (x instanceof Uint16Array) throw new TypeError(`${what}: float16/bfloat16 storage must be converted to float32 first`);
}

/** True for integer storage of numbers (int32, int16, int8, uint8, bool). */
const isIntArray = (x: DataArray): boolean => x instanceof Int32Array || x instanceof Int16Array || x instanceof Int8Array || x instanceof Uint8Array;

// ---------------------------------------------------------------------------------------
// unary

/**
 * out[i] = op(x[i]); x, out: (len). Float dtypes support every op; integer dtypes support
 * neg, abs, sign, square (results wrap to the integer's width, like C++; int64 exactly, in
 * BigInt). NaN propagates through every float op, including sign and relu.
 */
export function unary(op: UnaryOpCode, x: DataArray, out: DataArray): void {
  checkLength('unary: out', out.length, x.length);
  rejectHalfBits('unary', x);
  const len = x.length;
  if (x instanceof BigInt64Array) {
    unaryInt64(op, x, out as BigInt64Array);
    return;
  }
  if (isIntArray(x)) {
    unaryInt(op, x as NumberArray, out as NumberArray);
    return;
  }
  return unaryFloat(op, x as FloatArray, out as FloatArray, len);
}

function unaryFloat(op: UnaryOpCode, x: FloatArray, out: FloatArray, len: number): void {
  switch (op) {
    case UnaryOp.neg:
      for (let i = 0; i < len; i++) out[i] = -x[i];
      return;
    case UnaryOp.abs:
      for (let i = 0; i < len; i++) out[i] = Math.abs(x[i]);
      return;
    case UnaryOp.exp:
      for (let i = 0; i < len; i++) out[i] = Math.exp(x[i]);
      return;
    case UnaryOp.log:
      for (let i = 0; i < len; i++) out[i] = Math.log(x[i]);
      return;
    case UnaryOp.sqrt:
      for (let i = 0; i < len; i++) out[i] = Math.sqrt(x[i]);
      return;
    case UnaryOp.sigmoid:
      for (let i = 0; i < len; i++) out[i] = sigmoid(x[i]);
      return;
    case UnaryOp.tanh:
      for (let i = 0; i < len; i++) out[i] = Math.tanh(x[i]);
      return;
    case UnaryOp.relu:
      // `v < 0 ? 0 : v` keeps NaN as NaN.
      for (let i = 0; i < len; i++) {
        const v = x[i];
        out[i] = v < 0 ? 0 : v;
      }
      return;
    case UnaryOp.sign:
      for (let i = 0; i < len; i++) out[i] = Math.sign(x[i]); // NaN → NaN, ±0 → ±0
      return;
    case UnaryOp.reciprocal:
      for (let i = 0; i < len; i++) out[i] = 1 / x[i];
      return;
    case UnaryOp.square:
      for (let i = 0; i < len; i++) out[i] = x[i] * x[i];
      return;
    case UnaryOp.erf:
      for (let i = 0; i < len; i++) out[i] = erf(x[i]);
      return;
    case UnaryOp.expm1:
      for (let i = 0; i < len; i++) out[i] = Math.expm1(x[i]);
      return;
    case UnaryOp.log1p:
      for (let i = 0; i < len; i++) out[i] = Math.log1p(x[i]);
      return;
    case UnaryOp.sin:
      for (let i = 0; i < len; i++) out[i] = Math.sin(x[i]);
      return;
    case UnaryOp.cos:
      for (let i = 0; i < len; i++) out[i] = Math.cos(x[i]);
      return;
    case UnaryOp.tan:
      for (let i = 0; i < len; i++) out[i] = Math.tan(x[i]);
      return;
    case UnaryOp.sinh:
      for (let i = 0; i < len; i++) out[i] = Math.sinh(x[i]);
      return;
    case UnaryOp.cosh:
      for (let i = 0; i < len; i++) out[i] = Math.cosh(x[i]);
      return;
    case UnaryOp.rsqrt:
      for (let i = 0; i < len; i++) out[i] = 1 / Math.sqrt(x[i]);
      return;
    case UnaryOp.floor:
      for (let i = 0; i < len; i++) out[i] = Math.floor(x[i]);
      return;
    case UnaryOp.ceil:
      for (let i = 0; i < len; i++) out[i] = Math.ceil(x[i]);
      return;
    case UnaryOp.round:
      for (let i = 0; i < len; i++) out[i] = roundHalfEven(x[i]);
      return;
    default:
      throw new TypeError(`unary: unknown op code ${String(op)}`);
  }
}

/** Logistic function, evaluated so that neither branch overflows: 1 / (1 + e^-v). */
function sigmoid(v: number): number {
  if (v >= 0) return 1 / (1 + Math.exp(-v));
  const e = Math.exp(v);
  return e / (1 + e);
}

/** v rounded to the nearest integer, ties to the even one (torch.round); −0.4 gives −0. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v); // ties go up
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The integer unary ops: neg, abs, sign, square. Results wrap to the width on assignment. */
function unaryInt(op: UnaryOpCode, x: NumberArray, out: NumberArray): void {
  const len = x.length;
  switch (op) {
    case UnaryOp.neg:
      for (let i = 0; i < len; i++) out[i] = -x[i];
      return;
    case UnaryOp.abs:
      for (let i = 0; i < len; i++) out[i] = Math.abs(x[i]);
      return;
    case UnaryOp.sign:
      for (let i = 0; i < len; i++) out[i] = Math.sign(x[i]);
      return;
    case UnaryOp.square:
      for (let i = 0; i < len; i++) out[i] = Math.imul(x[i], x[i]);
      return;
    default:
      throw new TypeError(`unary: op code ${String(op)} is not supported for int32`);
  }
}

// ---------------------------------------------------------------------------------------
// binary and compare: broadcasting

/**
 * Runs `row(start, aBase, aStep, bBase, bStep, len)` over every output row of a broadcast:
 * with `plan === null` one row covering out (an operand of length 1 steps by 0); otherwise
 * one row per innermost row of `plan.shape`. Bounds are checked before anything is written.
 */
function broadcastRows(
  what: string,
  aLength: number,
  bLength: number,
  outLength: number,
  plan: BroadcastPlan | null,
  row: (start: number, ia: number, sa: number, ib: number, sb: number, len: number) => void,
): void {
  if (plan === null) {
    if (aLength !== outLength && aLength !== 1) throw new RangeError(`${what}: a has length ${aLength}, out ${outLength}`);
    if (bLength !== outLength && bLength !== 1) throw new RangeError(`${what}: b has length ${bLength}, out ${outLength}`);
    if (outLength === 0) return;
    row(0, 0, aLength === outLength ? 1 : 0, 0, bLength === outLength ? 1 : 0, outLength);
    return;
  }
  const { shape, aStrides, bStrides } = plan;
  checkLength(`${what}: out`, outLength, numel(shape));
  checkStridedBounds(`${what}: a`, aLength, 0, shape, aStrides);
  checkStridedBounds(`${what}: b`, bLength, 0, shape, bStrides);
  const len = rowLength(shape);
  const sa = rowStride(aStrides);
  const sb = rowStride(bStrides);
  forEachRow(shape, [aStrides, bStrides], [0, 0], (start, bases) => row(start, bases[0], sa, bases[1], sb, len));
}

/** The binary ops int32 supports (fmod and remainder of integers are exact; the op layer rejects a zero divisor). */
const INT_BINARY = new Set<BinaryOpCode>([
  BinaryOp.add,
  BinaryOp.sub,
  BinaryOp.mul,
  BinaryOp.maximum,
  BinaryOp.minimum,
  BinaryOp.fmod,
  BinaryOp.remainder,
]);

/**
 * out = op(a, b) with broadcasting; a, b, out share one dtype. Float dtypes support every
 * op; integer dtypes support add, sub, mul, maximum, minimum (wrapping to their width like
 * C++; int64 exactly, in BigInt), and all but int64 fmod and remainder. maximum/minimum return
 * NaN when either operand is NaN.
 */
export function binary(op: BinaryOpCode, a: DataArray, b: DataArray, out: DataArray, plan: BroadcastPlan | null): void {
  rejectHalfBits('binary', out);
  const isInt = isIntArray(out) || out instanceof BigInt64Array;
  const int64Unsupported = out instanceof BigInt64Array && (op === BinaryOp.fmod || op === BinaryOp.remainder);
  if (isInt && (!INT_BINARY.has(op) || int64Unsupported)) {
    throw new TypeError(`binary: op code ${op} is not supported for ${out instanceof BigInt64Array ? 'int64' : 'integer dtypes'}`);
  }
  if (out instanceof BigInt64Array) {
    broadcastRows('binary', a.length, b.length, out.length, plan, (start, ia, sa, ib, sb, len) =>
      binaryRowInt64(op, a as BigInt64Array, ia, sa, b as BigInt64Array, ib, sb, out, start, len),
    );
    return;
  }
  const imul = out instanceof Int32Array;
  broadcastRows('binary', a.length, b.length, out.length, plan, (start, ia, sa, ib, sb, len) =>
    binaryRow(op, imul, a as NumberArray, ia, sa, b as NumberArray, ib, sb, out as NumberArray, start, len),
  );
}

/** One row of `binary`: out[o + t] = op(a[ia + t·sa], b[ib + t·sb]) for t < len. */
function binaryRow(
  op: BinaryOpCode,
  imul: boolean,
  a: NumberArray,
  ia: number,
  sa: number,
  b: NumberArray,
  ib: number,
  sb: number,
  out: NumberArray,
  o: number,
  len: number,
): void {
  const end = o + len;
  switch (op) {
    case BinaryOp.add:
      // For int32 the exact double sum wraps correctly when stored.
      for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] + b[ib];
      return;
    case BinaryOp.sub:
      for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] - b[ib];
      return;
    case BinaryOp.mul:
      // An int32 product can exceed 2^53, so it needs Math.imul to wrap exactly (int16 and
      // int8 products are exact doubles, wrapped when stored).
      if (imul) for (; o < end; o++, ia += sa, ib += sb) out[o] = Math.imul(a[ia], b[ib]);
      else for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] * b[ib];
      return;
    case BinaryOp.div:
      for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] / b[ib];
      return;
    case BinaryOp.pow:
      for (; o < end; o++, ia += sa, ib += sb) out[o] = Math.pow(a[ia], b[ib]);
      return;
    case BinaryOp.maximum:
      for (; o < end; o++, ia += sa, ib += sb) {
        const x = a[ia];
        const y = b[ib];
        out[o] = x !== x || x > y ? x : y; // y wins otherwise, including when y is NaN
      }
      return;
    case BinaryOp.minimum:
      for (; o < end; o++, ia += sa, ib += sb) {
        const x = a[ia];
        const y = b[ib];
        out[o] = x !== x || x < y ? x : y;
      }
      return;
    case BinaryOp.atan2:
      for (; o < end; o++, ia += sa, ib += sb) out[o] = Math.atan2(a[ia], b[ib]);
      return;
    case BinaryOp.fmod:
      for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] % b[ib]; // JS % is C's fmod
      return;
    case BinaryOp.remainder:
      for (; o < end; o++, ia += sa, ib += sb) {
        const y = b[ib];
        const r = a[ia] % y;
        out[o] = r !== 0 && r < 0 !== y < 0 ? r + y : r; // moved to b's sign
      }
      return;
    default:
      throw new TypeError(`binary: unknown op code ${String(op)}`);
  }
}

/** out = (a op b) as 0/1 bytes, broadcasting as in `binary`. NaN compares unequal to everything. */
export function compare(op: CompareOpCode, a: DataArray, b: DataArray, out: Uint8Array, plan: BroadcastPlan | null): void {
  rejectHalfBits('compare', a);
  broadcastRows('compare', a.length, b.length, out.length, plan, (start, ia, sa, ib, sb, len) =>
    compareRow(op, a, ia, sa, b, ib, sb, out, start, len),
  );
}

/** One row of `compare`: out[o + t] = a[ia + t·sa] op b[ib + t·sb] for t < len. */
function compareRow(
  op: CompareOpCode,
  a: DataArray,
  ia: number,
  sa: number,
  b: DataArray,
  ib: number,
  sb: number,
  out: Uint8Array,
  o: number,
  len: number,
): void {
  const end = o + len;
  switch (op) {
    case CompareOp.eq:
      for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] === b[ib] ? 1 : 0;
      return;
    case CompareOp.ne:
      for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] !== b[ib] ? 1 : 0;
      return;
    case CompareOp.lt:
      for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] < b[ib] ? 1 : 0;
      return;
    case CompareOp.le:
      for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] <= b[ib] ? 1 : 0;
      return;
    case CompareOp.gt:
      for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] > b[ib] ? 1 : 0;
      return;
    case CompareOp.ge:
      for (; o < end; o++, ia += sa, ib += sb) out[o] = a[ia] >= b[ib] ? 1 : 0;
      return;
    default:
      throw new TypeError(`compare: unknown op code ${String(op)}`);
  }
}

// ---------------------------------------------------------------------------------------
// where and clamp

/** out[i] = cond[i] ? a[i] : b[i]; cond, a, b, out: (len). Any nonzero byte counts as true. */
export function where(cond: Uint8Array, a: DataArray, b: DataArray, out: DataArray): void {
  const len = out.length;
  checkLength('where: cond', cond.length, len);
  checkLength('where: a', a.length, len);
  checkLength('where: b', b.length, len);
  for (let i = 0; i < len; i++) out[i] = cond[i] !== 0 ? a[i] : b[i];
}

/** out[i] = x[i] > 0 ? g[i] : 0 (NaN x gives 0); g, x, out: (len). */
export function reluBackward(g: FloatArray, x: FloatArray, out: FloatArray): void {
  const len = out.length;
  checkLength('reluBackward: g', g.length, len);
  checkLength('reluBackward: x', x.length, len);
  for (let i = 0; i < len; i++) out[i] = x[i] > 0 ? g[i] : 0;
}

/**
 * out[i] = min(max(x[i], lo), hi); x, out: (len). NaN stays NaN. With lo > hi every element
 * becomes hi (what min(max(·)) gives, as in PyTorch).
 */
export function clamp(x: FloatArray, lo: number, hi: number, out: FloatArray): void {
  checkLength('clamp: out', out.length, x.length);
  const len = x.length;
  for (let i = 0; i < len; i++) {
    const v = x[i];
    const r = v < lo ? lo : v;
    out[i] = r > hi ? hi : r;
  }
}

/** Backend.roundBFloat16: on the float32 bits' magnitude, so every step stays a small integer. */
export function roundBFloat16(x: Float32Array, out: Float32Array): void {
  checkLength('roundBFloat16: out', out.length, x.length);
  const bits = new Int32Array(x.buffer, x.byteOffset, x.length);
  const rounded = new Int32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < bits.length; i++) {
    const v = bits[i];
    const magnitude = v & 0x7fffffff;
    rounded[i] = magnitude > 0x7f800000 ? (v | 0x00400000) & -0x10000 : (v & -0x80000000) | ((magnitude + 0x7fff + ((magnitude >> 16) & 1)) & -0x10000);
  }
}
