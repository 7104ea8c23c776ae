/**
 * Matrix products with PyTorch's matmul rules: 1-D·1-D is a dot product, a 1-D operand is
 * treated as a row (left) or column (right) vector, and leading batch dims broadcast.
 */
import { getBackend } from '../backend/index.js';
import { allocateOutput, isFloat, isHalf, promoteTypes, type DType, type FloatArray } from '../dtype.js';
import { DTypeError, ShapeError } from '../errors.js';
import { record } from '../autograd/engine.js';
import { broadcastShapes, formatShape, numelOf, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { cast, checkTensor } from './cast.js';
import { sumTo } from './reduce.js';
import { expand, reshape, squeeze, unsqueeze } from './shape.js';

/**
 * Matrix product of a and b.
 *
 * Shape: (…, m, k) · (…, k, n) → (…, m, n), batch dims broadcast; (k) · (k) → ();
 * (m, k) · (k) → (m); (k) · (k, n) → (n).
 *
 * Example: `matmul(x, w)` for x (batch, in) and w (in, out) gives (batch, out).
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  checkTensor('matmul', a);
  checkTensor('matmul', b);
  if (a.ndim === 0 || b.ndim === 0) {
    throw new ShapeError(`matmul: both operands need at least 1 dim, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  const dtype = matmulType(a.dtype, b.dtype);
  if (dtype !== a.dtype) return cast(matmul(cast(a, dtype), cast(b, dtype)), a.dtype);
  const ta = a;
  const tb = b;
  if (ta.ndim === 1 && tb.ndim === 1) return reshape(matmul(unsqueeze(ta, 0), tb), []);
  if (ta.ndim === 1) return squeeze(matmul(unsqueeze(ta, 0), tb), -2);
  if (tb.ndim === 1) return squeeze(matmul(ta, unsqueeze(tb, -1)), -1);
  const k = ta.shape[ta.ndim - 1];
  if (tb.shape[tb.ndim - 2] !== k) {
    throw new ShapeError(
      `matmul: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} do not fit (inner sizes ${k} vs ${tb.shape[tb.ndim - 2]})`,
    );
  }
  const batch = broadcastShapes(ta.shape.slice(0, -2), tb.shape.slice(0, -2), 'matmul');
  return matmulCore(batchable(ta, batch), batchable(tb, batch), false, false);
}

/**
 * The dtype matmul computes a (dtype a) times b (dtype b) in. As in PyTorch both operands must
 * have one dtype (it raises "expected scalar type Float but found Long" otherwise; matmul does
 * not promote). float32 and float64 compute as they are; float16 and bfloat16 in float32;
 * integers in float64 (results exact while every partial sum stays below 2⁵³); bool raises.
 * The result has the operands' dtype.
 */
function matmulType(a: DType, b: DType): DType {
  if (a !== b) {
    throw new DTypeError(`matmul: both operands must have the same dtype, got ${a} and ${b} (PyTorch raises too); convert one with .to('${promoteTypes(a, b)}')`);
  }
  if (a === 'bool') throw new DTypeError('matmul: not defined for bool tensors (PyTorch raises too); convert them with .int() or .float()');
  if (isFloat(a)) return a;
  return isHalf(a) ? 'float32' : 'float64';
}

/** x itself when its batch dims already equal `batch` or hold one matrix; else x expanded to `batch`. */
function batchable(x: Tensor, batch: readonly number[]): Tensor {
  const own = x.shape.slice(0, -2);
  if (numelOf(own) === 1 || sameShape(own, batch)) return x;
  return expand(x, [...batch, ...x.shape.slice(-2)]);
}

/**
 * op(a) · op(b) batched, where op transposes the last two dims when the flag is set. Each
 * operand's batch dims either match the broadcast batch or hold a single matrix (reused).
 */
function matmulCore(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const m = transA ? ac : ar;
  const k = transA ? ar : ac;
  const n = transB ? br : bc;
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const batchShape = numelOf(aBatch) === 1 && aBatch.length <= bBatch.length ? bBatch : aBatch;
  const batch = numelOf(batchShape);
  const out = allocateOutput(a.dtype, batch * m * n) as FloatArray;
  if (out.length > 0) {
    const aStride = numelOf(aBatch) === 1 ? 0 : m * k;
    const bStride = numelOf(bBatch) === 1 ? 0 : k * n;
    getBackend().matmul(a.data as FloatArray, b.data as FloatArray, out, batch, m, k, n, aStride, bStride, transA, transB);
  }
  const y = new Tensor(out, [...batchShape, m, n], a.dtype);
  return record(y, 'matmul', [a, b], (g) => [
    a.requiresGrad ? sumTo(transA ? matmulCore(b, g, transB, true) : matmulCore(g, b, false, !transB), a.shape) : null,
    b.requiresGrad ? sumTo(transB ? matmulCore(g, a, true, transA) : matmulCore(a, g, !transA, false), b.shape) : null,
  ]);
}

/**
 * a · bᵀ for a matrix b stored (n, k), without materialising the transpose: the product a
 * Linear layer computes with its (out, in) weight.
 *
 * Shape: (…, k) · (n, k)ᵀ → (…, n).
 *
 * Example: `matmulTransposed(x, weight)` equals `matmul(x, transpose(weight, 0, 1))`.
 */
export function matmulTransposed(a: Tensor, b: Tensor): Tensor {
  checkTensor('matmulTransposed', a);
  checkTensor('matmulTransposed', b);
  const k = a.shape[a.ndim - 1];
  if (a.ndim === 0 || b.ndim !== 2 || b.shape[1] !== k) {
    throw new ShapeError(`matmulTransposed: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} do not fit: need (…, k) and (n, k)`);
  }
  const dtype = matmulType(a.dtype, b.dtype);
  if (dtype !== a.dtype) return cast(matmulTransposed(cast(a, dtype), cast(b, dtype)), a.dtype);
  const out = matmulCore(reshape(a, [-1, k]), b, false, true);
  return reshape(out, [...a.shape.slice(0, -1), b.shape[0]]);
}
