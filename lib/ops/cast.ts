/**
 * Conversions between dtypes, and turning plain numbers into tensors for mixed-type operands.
 */
import { allocate, isFloat, promoteTypes, type DType } from '../dtype.js';
import { DTypeError } from '../errors.js';
import { record } from '../autograd/engine.js';
import { Tensor } from '../tensor.js';

/**
 * `x` converted to `dtype` (x itself when it already has it). Differentiable between float
 * dtypes: the gradient is converted back. Floats convert to int32 by truncation toward zero;
 * to bool as `x != 0`.
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  const out = allocate(dtype, x.numel);
  if (dtype === 'bool') {
    const src = x.data;
    for (let i = 0; i < src.length; i++) out[i] = src[i] !== 0 ? 1 : 0;
  } else if (dtype === 'int32') {
    const src = x.data;
    for (let i = 0; i < src.length; i++) out[i] = Math.trunc(src[i]);
  } else {
    out.set(x.data);
  }
  const y = new Tensor(out, x.shape, dtype);
  if (!isFloat(dtype) || !isFloat(x.dtype)) return y;
  return record(y, 'cast', [x], (g) => [cast(g, x.dtype)], []);
}

/** A 0-d tensor holding `value` in `dtype`. */
export function scalarTensor(value: number, dtype: DType): Tensor {
  const data = allocate(dtype, 1);
  data[0] = value;
  return new Tensor(data, [], dtype);
}

/** The dtype a number operand takes next to a tensor of `dtype`: the tensor's, unless the number needs a float. */
export function dtypeForNumber(value: number, dtype: DType): DType {
  if (isFloat(dtype)) return dtype;
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
  let dtype: DType;
  if (typeof a === 'number') dtype = dtypeForNumber(a, (b as Tensor).dtype);
  else if (typeof b === 'number') dtype = dtypeForNumber(b, a.dtype);
  else dtype = promoteTypes(a.dtype, b.dtype);
  if (arithmetic && dtype === 'bool') dtype = 'int32';
  const ta = typeof a === 'number' ? scalarTensor(a, dtype) : cast(checkTensor(op, a), dtype);
  const tb = typeof b === 'number' ? scalarTensor(b, dtype) : cast(checkTensor(op, b), dtype);
  return [ta, tb];
}

/** Throws a TypeError naming `op` unless `x` is a Tensor. */
export function checkTensor(op: string, x: unknown): Tensor {
  if (!(x instanceof Tensor)) {
    throw new TypeError(`${op}: expected a Tensor, got ${x === null ? 'null' : typeof x}`);
  }
  return x;
}

/** x as a float tensor: float dtypes unchanged, int32 and bool converted to float32. */
export function toFloat(x: Tensor): Tensor {
  return isFloat(x.dtype) ? x : cast(x, 'float32');
}
