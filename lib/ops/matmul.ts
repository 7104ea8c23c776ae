/**
 * Matrix products with PyTorch's matmul rules: 1-D·1-D is a dot product, a 1-D operand is
 * treated as a row (left) or column (right) vector, and leading batch dims broadcast.
 */
import { getBackend } from '../backend/index.js';
import { allocateOutput, promoteTypes, type DType, type FloatArray } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { record } from '../autograd/engine.js';
import { broadcastShapes, formatShape, numelOf, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { cast, checkTensor } from './cast.js';
import { add, mul } from './elementwise.js';
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
  const dtype = floatType(a.dtype, b.dtype);
  const ta = cast(a, dtype);
  const tb = cast(b, dtype);
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

function floatType(a: DType, b: DType): DType {
  const t = promoteTypes(a, b);
  return t === 'float64' ? 'float64' : 'float32';
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
  const dtype = floatType(a.dtype, b.dtype);
  const rows = reshape(cast(a, dtype), [-1, k]);
  const out = matmulCore(rows, cast(b, dtype), false, true);
  return reshape(out, [...a.shape.slice(0, -1), b.shape[0]]);
}

/**
 * Batched matrix product of two 3-D tensors (no broadcasting, as torch.bmm).
 *
 * Shape: (b, n, m) · (b, m, p) → (b, n, p).
 *
 * Example: `bmm(q, k.transpose(1, 2))` gives attention scores per batch entry.
 */
export function bmm(a: Tensor, b: Tensor): Tensor {
  checkTensor('bmm', a);
  checkTensor('bmm', b);
  if (a.ndim !== 3 || b.ndim !== 3) {
    throw new ShapeError(`bmm: expected two 3-D tensors (b, n, m) and (b, m, p), got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  if (a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[1]) {
    throw new ShapeError(
      `bmm: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} do not fit: expected (b, n, m) and (b, m, p) with equal b and m`,
    );
  }
  return matmul(a, b);
}

/** Options of baddbmm: out = beta · input + alpha · (a · b). */
export interface BaddbmmOptions {
  /** Multiplier of input (default 1; 0 ignores input, NaN and infinity included). */
  beta?: number;
  /** Multiplier of the product (default 1). */
  alpha?: number;
}

/**
 * beta · input + alpha · bmm(a, b), input broadcasting to the product's shape.
 *
 * Shape: input broadcastable to (b, n, p); a (b, n, m); b (b, m, p) → (b, n, p).
 *
 * Example: `baddbmm(bias, q, kT, { alpha: 1 / Math.sqrt(d) })`.
 */
export function baddbmm(input: Tensor, a: Tensor, b: Tensor, options: BaddbmmOptions = {}): Tensor {
  checkTensor('baddbmm', input);
  const { beta = 1, alpha = 1 } = options;
  const product = bmm(a, b);
  if (!sameShape(broadcastShapes(input.shape, product.shape, 'baddbmm'), product.shape)) {
    throw new ShapeError(`baddbmm: input ${formatShape(input.shape)} does not broadcast to the product's shape ${formatShape(product.shape)}`);
  }
  const scaled = alpha === 1 ? product : mul(product, alpha);
  if (beta === 0) return scaled; // input is not read (as PyTorch: its NaN and infinity do not propagate)
  return add(beta === 1 ? input : mul(input, beta), scaled);
}
