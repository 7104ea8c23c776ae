/**
 * Conversions between dtypes, and turning plain numbers into tensors for mixed-type operands.
 */
import { allocate, copyInto, isFloat, isFloatingPoint, isHalf, promoteTypes, type DataArray, type DType, type FloatArray, type NumberArray } from '../dtype.js';
import { DTypeError } from '../errors.js';
import { decodeHalf, encodeHalf, HALF_CODECS } from '../half.js';
import { record } from '../autograd/engine.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import { Tensor } from '../tensor.js';
import { checkTensor, describeValue } from '../validate.js';
import { inOpContext } from '../op-context.js';

/** The value int64 takes for NaN, ±Infinity and floats beyond its range (x86's, so PyTorch CPU's). */
const INT64_INVALID = -(2n ** 63n);

/**
 * `x` converted to `dtype` (x itself when it already has it). Differentiable between float32
 * and float64: the gradient is converted back. Floats convert to integers by truncation toward
 * zero, then wrap to the integer's width (int64: NaN, ±Infinity and values beyond ±2⁶³ give
 * −2⁶³, as PyTorch on x86); to bool as `x != 0`; to float16/bfloat16 by rounding to nearest
 * even (half.ts). int64 → float rounds through float64 (exact below 2⁵³).
 * float16/bfloat16 tensors do not carry gradients in kiln: casting a tensor that requires grad
 * to one of them throws (detach() it or cast inside noGrad()).
 *
 * Example: `cast(tensor([1.7, -1.7]), 'int32')` → [1, -1] (int32).
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  return inOpContext('cast', () => {
    if (!(x instanceof Tensor)) checkTensor('cast', x);
    if (x.dtype === dtype) return x;
    if (isHalf(dtype) && x.requiresGrad && isGradEnabled()) {
      throw new DTypeError(`cast: ${dtype} tensors do not carry gradients in kiln; detach() the ${x.dtype} tensor or cast inside noGrad()`);
    }
    const out = allocate(dtype, x.numel);
    convertInto(x.data, x.dtype, out, dtype);
    const y = new Tensor(out, x.shape, dtype);
    if (!isFloat(dtype) || !isFloat(x.dtype)) return y;
    return record(y, 'cast', [x], (g) => [cast(g, x.dtype)], []);
  });
}

/** Converts `src` (elements of `from`) into `out` (elements of `to`), element by element; same length. */
export function convertInto(src: DataArray, from: DType, out: DataArray, to: DType): void {
  if (from === to) {
    copyInto(out, src); // bit for bit (float16 NaN payloads too)
    return;
  }
  if (src instanceof BigInt64Array) {
    convertFromInt64(src, out, to);
    return;
  }
  let values: NumberArray = src;
  if (isHalf(from)) {
    if (to === 'float32' || to === 'float64') {
      decodeHalf(from, src as Uint16Array, out as FloatArray);
      return;
    }
    values = new Float32Array(src.length); // exact: every half value is a float32
    decodeHalf(from, src as Uint16Array, values);
  }
  if (to === 'bool') {
    for (let i = 0; i < values.length; i++) out[i] = values[i] !== 0 ? 1 : 0; // NaN → true
  } else if (to === 'int64') {
    const o = out as BigInt64Array;
    for (let i = 0; i < values.length; i++) o[i] = toInt64(values[i]);
  } else if (isHalf(to)) {
    encodeHalf(to, values, out as Uint16Array);
  } else if (isFloatingPoint(to) || !isFloatingPoint(from)) {
    (out as NumberArray).set(values); // float targets, and integer → integer (wraps to the width)
  } else {
    const o = out as NumberArray;
    for (let i = 0; i < values.length; i++) o[i] = Math.trunc(values[i]);
  }
}

/** A number as int64: truncated toward zero; NaN, ±Infinity and out-of-range values give −2⁶³. */
function toInt64(v: number): bigint {
  const t = Math.trunc(v);
  return Number.isFinite(t) && t >= -(2 ** 63) && t < 2 ** 63 ? BigInt(t) : INT64_INVALID;
}

function convertFromInt64(src: BigInt64Array, out: DataArray, to: DType): void {
  if (to === 'bool') {
    for (let i = 0; i < src.length; i++) out[i] = src[i] !== 0n ? 1 : 0;
  } else if (isHalf(to)) {
    const o = out as Uint16Array;
    const values = Float64Array.from(src, Number);
    encodeHalf(to, values, o);
  } else if (isFloatingPoint(to)) {
    const o = out as FloatArray;
    for (let i = 0; i < src.length; i++) o[i] = Number(src[i]);
  } else {
    const o = out as NumberArray;
    for (let i = 0; i < src.length; i++) o[i] = Number(BigInt.asIntN(32, src[i])); // then wraps to int16/int8/uint8
  }
}

/**
 * The element that stores the number `value` in an array of `dtype`, converted as cast()
 * converts: a bigint for int64, a bit pattern for float16/bfloat16, else the number itself
 * (which the typed array rounds or truncates and wraps when it is stored).
 */
export function storedElement(value: number, dtype: DType): number | bigint {
  if (dtype === 'int64') return toInt64(value);
  if (isHalf(dtype)) return HALF_CODECS[dtype].encode(value);
  if (dtype === 'bool') return value !== 0 ? 1 : 0;
  return isFloatingPoint(dtype) ? value : Math.trunc(value);
}

/** A 0-d tensor holding `value` in `dtype`. */
export function scalarTensor(value: number, dtype: DType): Tensor {
  const data = allocate(dtype, 1);
  data[0] = storedElement(value, dtype) as never; // a bigint exactly when data is int64 storage
  return new Tensor(data, [], dtype);
}

/**
 * The dtype a number operand takes next to a tensor of `dtype` (PyTorch: a Python scalar does
 * not promote a tensor within its category): the tensor's, except that a non-integer number
 * next to an integer or bool tensor gives float32, and an integer next to bool gives int32
 * (kiln's default integer type).
 */
export function dtypeForNumber(value: number, dtype: DType): DType {
  if (isFloatingPoint(dtype)) return dtype;
  return Number.isInteger(value) ? (dtype === 'bool' ? 'int32' : dtype) : 'float32';
}

/**
 * Both operands of a binary op as tensors of one dtype (PyTorch-style promotion; numbers
 * take the tensor's dtype). `arithmetic` promotes bool to int32. Throws when both are numbers.
 */
export function commonOperands(
  op: string,
  a: Tensor | number,
  b: Tensor | number,
  arithmetic: boolean,
): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') {
    throw new DTypeError(`${op}: at least one operand must be a Tensor, got two numbers`);
  }
  for (const [name, v] of [['first', a], ['second', b]] as const) {
    if (typeof v !== 'number' && !(v instanceof Tensor)) {
      throw new TypeError(`${op}: the ${name} operand must be a Tensor or a number, got ${describeValue(v)}`);
    }
  }
  let dtype: DType;
  if (typeof a === 'number') dtype = dtypeForNumber(a, (b as Tensor).dtype);
  else if (typeof b === 'number') dtype = dtypeForNumber(b, a.dtype);
  else dtype = promoteTypes(a.dtype, b.dtype);
  if (arithmetic && dtype === 'bool') dtype = 'int32';
  const ta = typeof a === 'number' ? scalarTensor(a, dtype) : cast(checkTensor(op, a), dtype);
  const tb = typeof b === 'number' ? scalarTensor(b, dtype) : cast(checkTensor(op, b), dtype);
  return [ta, tb];
}

export { checkTensor, describeValue } from '../validate.js';

/** x as a float tensor kernels compute in: float32 and float64 unchanged, every other dtype converted to float32. */
export function toFloat(x: Tensor): Tensor {
  return isFloat(x.dtype) ? x : cast(x, 'float32');
}
