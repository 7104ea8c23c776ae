/**
 * Matrix products with PyTorch's matmul rules: 1-D·1-D is a dot product, a 1-D operand is
 * treated as a row (left) or column (right) vector, and leading batch dims broadcast.
 */
import { checkOptions } from '../validate.js';
import type { GemmPrecision, MatmulLayout } from '../backend/backend.js';
import { getBackend } from '../backend/index.js';
import { allocateOutput, isFloat, isHalf, promoteTypes, type DType, type FloatArray } from '../dtype.js';
import { DTypeError, ShapeError } from '../errors.js';
import { record } from '../autograd/engine.js';
import { broadcastShapes, contiguousStrides, formatShape, numelOf, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { cast, checkTensor } from './cast.js';
import { add, mul } from './elementwise.js';
import { sum, sumTo } from './reduce.js';
import { expand, reshape, squeeze, unsqueeze } from './shape.js';
import { inOpContext } from '../op-context.js';
import { lowerPrecision, productGemmPrecision } from '../autocast.js';

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
  const lowered = lowerPrecision([a, b], ([x, y]) => matmul(x as Tensor, y as Tensor));
  if (lowered !== null) return lowered;
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
  return matmulCore(batchable(ta, batch), batchable(tb, batch), false, false, productGemmPrecision());
}

/**
 * The dtype matmul computes a (dtype a) times b (dtype b) in. As in PyTorch both operands must
 * have one dtype (it raises "expected scalar type Float but found Long" otherwise; matmul does
 * not promote). float32, float64 and bfloat16 compute as they are (bfloat16 on the native
 * backend's bfloat16 GEMM: FP32 accumulation, the result rounded to bfloat16 as PyTorch's);
 * float16 in float32; integers in float64 (results exact while every partial sum stays below 2⁵³); bool raises.
 * The result has the operands' dtype.
 */
function matmulType(a: DType, b: DType): DType {
  if (a !== b) {
    throw new DTypeError(`matmul: both operands must have the same dtype, got ${a} and ${b} (PyTorch raises too); convert one with .to('${promoteTypes(a, b)}')`);
  }
  if (a === 'bool') throw new DTypeError('matmul: not defined for bool tensors (PyTorch raises too); convert them with .int() or .float()');
  if (isFloat(a) || a === 'bfloat16') return a;
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
 * precision: how float32 GEMMs compute, forward and backward (autocast's products: 'bfloat16').
 */
function matmulCore(a: Tensor, b: Tensor, transA: boolean, transB: boolean, precision: GemmPrecision): Tensor {
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const m = transA ? ac : ar;
  const k = transA ? ar : ac;
  const n = transB ? br : bc;
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const batchShape = numelOf(aBatch) === 1 && aBatch.length <= bBatch.length ? bBatch : aBatch;
  const batch = numelOf(batchShape);
  const out = allocateOutput(a.dtype, batch * m * n) as ProductArray;
  if (out.length > 0) batchedProduct(operandLayout(a, batchShape), operandLayout(b, batchShape), out, batchShape, m, k, n, transA, transB, { precision });
  const y = new Tensor(out, [...batchShape, m, n], a.dtype);
  return record(y, 'matmul', [a, b], (g) => [
    a.requiresGrad ? sumTo(transA ? matmulCore(b, g, transB, true, precision) : matmulCore(g, b, false, !transB, precision), a.shape) : null,
    b.requiresGrad ? sumTo(transB ? matmulCore(g, a, true, transA, precision) : matmulCore(a, g, !transA, false, precision), b.shape) : null,
  ], partnersOf(a, b), { transA, transB });
}

/** The operands a product's backward reads: b for a's gradient, a for b's. */
function partnersOf(a: Tensor, b: Tensor): Tensor[] {
  if (a.requiresGrad && b.requiresGrad) return [a, b];
  return a.requiresGrad ? [b] : [a];
}

/** The arrays products read and write: float32/float64, or bfloat16 bit patterns. */
type ProductArray = FloatArray | Uint16Array;

/** How GEMM reads an operand of shape (…, rows, cols) in place: its array, first element, batch strides and row layout. */
interface OperandLayout {
  array: ProductArray;
  offset: number;
  /** Element stride of each dim of the output's batch shape (0 along dims the operand broadcasts over). */
  batchStrides: number[];
  /** True when the matrices are stored column-major (a transposed view): stored (cols, rows). */
  transposed: boolean;
  /** Elements between stored rows. */
  ld: number;
}

/**
 * The operand as GEMM can read it without a copy when its matrices are row- or column-major
 * with a leading dimension (transposed, permuted, sliced and batch-expanded views); otherwise
 * its contiguous copy. Its batch dims either equal batchShape or hold one matrix.
 */
function operandLayout(x: Tensor, batchShape: readonly number[]): OperandLayout {
  const nd = x.ndim;
  const [rows, cols] = x.shape.slice(-2);
  const single = numelOf(x.shape.slice(0, -2)) === 1;
  const strides = x.strides;
  const batchStrides = single ? batchShape.map(() => 0) : strides.slice(0, -2);
  if (!x.isContiguous()) {
    const rowStride = strides[nd - 2];
    const colStride = strides[nd - 1];
    const array = x.storage as ProductArray;
    const offset = x.storageOffset;
    if ((colStride === 1 || cols === 1) && (rows === 1 || rowStride >= cols)) {
      return { array, offset, batchStrides, transposed: false, ld: rows === 1 ? cols : rowStride };
    }
    if ((rowStride === 1 || rows === 1) && (cols === 1 || colStride >= rows)) {
      return { array, offset, batchStrides, transposed: true, ld: cols === 1 ? rows : colStride };
    }
  }
  const dense = x.contiguous();
  const denseStrides = single ? batchStrides : contiguousStrides(x.shape).slice(0, -2);
  return { array: dense.data as ProductArray, offset: 0, batchStrides: denseStrides, transposed: false, ld: cols };
}

/**
 * out (…batch, m, n) = op(a) · op(b) over every batch index. The innermost batch dims whose
 * strides collapse to one (in both operands) form the inner level of one backend call, the
 * run of dims before them that collapses too its outer level (a permuted (batch, heads) pair
 * is one call); any dims before those loop here.
 */
function batchedProduct(
  a: OperandLayout,
  b: OperandLayout,
  out: ProductArray,
  batchShape: readonly number[],
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  { precision, bias }: { precision: GemmPrecision; bias?: FloatArray },
): void {
  const end = batchShape.length;
  const split = runStart(batchShape, a, b, end);
  const outerSplit = runStart(batchShape, a, b, split);
  const inner = numelOf(batchShape.slice(split));
  const outerCount = numelOf(batchShape.slice(outerSplit, split));
  const looped = batchShape.slice(0, outerSplit);
  const perCall = outerCount * inner * m * n;
  const index = new Array<number>(looped.length).fill(0);
  const backend = getBackend();
  for (let p = 0; p < numelOf(looped); p++) {
    let aOffset = a.offset;
    let bOffset = b.offset;
    for (let d = 0; d < looped.length; d++) {
      aOffset += index[d] * a.batchStrides[d];
      bOffset += index[d] * b.batchStrides[d];
    }
    const target = looped.length === 0 ? out : (out.subarray(p * perCall, (p + 1) * perCall) as ProductArray);
    const layout: MatmulLayout = { aOffset, bOffset, lda: a.ld, ldb: b.ld, bias, gemmPrecision: precision };
    if (outerSplit < split) layout.outer = { count: outerCount, aStride: runStride(batchShape, a, outerSplit, split), bStride: runStride(batchShape, b, outerSplit, split) };
    const aInner = runStride(batchShape, a, split, end);
    const bInner = runStride(batchShape, b, split, end);
    const ta = transA !== a.transposed;
    const tb = transB !== b.transposed;
    if (target instanceof Uint16Array) backend.matmulBFloat16(a.array as Uint16Array, b.array as Uint16Array, target, inner, m, k, n, aInner, bInner, ta, tb, layout);
    else backend.matmul(a.array as FloatArray, b.array as FloatArray, target, inner, m, k, n, aInner, bInner, ta, tb, layout);
    for (let d = looped.length - 1; d >= 0 && ++index[d] === looped[d]; d--) index[d] = 0;
  }
}

/** The first dim of the longest run of batch dims ending before `end` whose strides collapse to one in both operands. */
function runStart(shape: readonly number[], a: OperandLayout, b: OperandLayout, end: number): number {
  let from = end;
  while (from > 0 && collapses(shape, a.batchStrides, from - 1, end) && collapses(shape, b.batchStrides, from - 1, end)) from--;
  return from;
}

/** True when batch dims from..end−1 of a layout step with one stride (size-1 dims ignored). */
function collapses(shape: readonly number[], strides: readonly number[], from: number, end: number): boolean {
  let span: number | null = null;
  for (let d = end - 1; d >= from; d--) {
    if (shape[d] === 1) continue;
    if (span !== null && strides[d] !== span) return false;
    span = strides[d] * shape[d];
  }
  return true;
}

/** The single stride of the collapsed batch dims from..end−1 of a layout (0 when they hold one matrix). */
function runStride(shape: readonly number[], layout: OperandLayout, from: number, end: number): number {
  for (let d = end - 1; d >= from; d--) if (shape[d] !== 1) return layout.batchStrides[d];
  return 0;
}

/**
 * a · bᵀ (+ bias) for a matrix b stored (n, k), without materialising the transpose: the
 * product a Linear layer computes with its (out, in) weight. The bias is added inside the
 * product (each tile of the result starts from it), not by a pass of its own.
 *
 * Args: a; b (n, k); bias (n) of a's dtype, or null.
 *
 * Shape: (…, k) · (n, k)ᵀ + (n) → (…, n).
 *
 * Example: `matmulTransposed(x, weight, bias)` equals `add(matmul(x, transpose(weight, 0, 1)), bias)`.
 */
export function matmulTransposed(a: Tensor, b: Tensor, bias: Tensor | null = null): Tensor {
  checkTensor('matmulTransposed', a);
  checkTensor('matmulTransposed', b);
  const lowered = lowerPrecision([a, b, bias], ([x, w, c]) => matmulTransposed(x as Tensor, w as Tensor, c));
  if (lowered !== null) return lowered;
  const k = a.shape[a.ndim - 1];
  if (a.ndim === 0 || b.ndim !== 2 || b.shape[1] !== k) {
    throw new ShapeError(`matmulTransposed: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} do not fit: need (…, k) and (n, k)`);
  }
  const dtype = matmulType(a.dtype, b.dtype);
  if (bias !== null) checkBias(bias, b.shape[0], a.dtype);
  // bfloat16 with a bias: the FP32 sums plus the bias, rounded once (PyTorch's addmm).
  const computeIn = bias !== null && dtype === 'bfloat16' ? 'float32' : dtype;
  if (computeIn !== a.dtype) return cast(matmulTransposed(cast(a, computeIn), cast(b, computeIn), bias === null ? null : cast(bias, computeIn)), a.dtype);
  const rows = reshape(a, [numelOf(a.shape.slice(0, -1)), k]); // (not -1: k may be 0)
  const precision = productGemmPrecision();
  const out = bias === null ? matmulCore(rows, b, false, true, precision) : productWithBias(rows, b, bias, precision);
  return reshape(out, [...a.shape.slice(0, -1), b.shape[0]]);
}

/** Throws unless bias is a vector of n elements of the product's dtype. */
function checkBias(bias: Tensor, n: number, dtype: DType): void {
  checkTensor('matmulTransposed', bias);
  if (bias.ndim !== 1 || bias.shape[0] !== n) {
    throw new ShapeError(`matmulTransposed: bias of shape ${formatShape(bias.shape)} must be (${n}), one value per row of b`);
  }
  if (bias.dtype !== dtype) throw new DTypeError(`matmulTransposed: bias must have the operands' dtype ${dtype}, got ${bias.dtype}`);
}

/**
 * a · wᵀ + bias in one product: a (rows, k), w (n, k), bias (n) → (rows, n). Its backward:
 * gradient g·w for a, gᵀ·a for w, the column sums of g for the bias (g made contiguous once,
 * for all three, when it is a view such as the expanded gradient of a sum). precision: as
 * matmulCore's.
 */
function productWithBias(a: Tensor, w: Tensor, bias: Tensor, precision: GemmPrecision): Tensor {
  const [rows, k] = a.shape;
  const n = w.shape[0];
  const out = allocateOutput(a.dtype, rows * n) as FloatArray;
  if (out.length > 0) batchedProduct(operandLayout(a, []), operandLayout(w, []), out, [], rows, k, n, false, true, { precision, bias: bias.contiguous().data as FloatArray });
  const y = new Tensor(out, [rows, n], a.dtype);
  return record(y, 'linear', [a, w, bias], (g) => {
    const dense = g.contiguous();
    return [
      a.requiresGrad ? matmulCore(dense, w, false, false, precision) : null,
      w.requiresGrad ? matmulCore(dense, a, true, false, precision) : null,
      bias.requiresGrad ? sum(dense, 0) : null,
    ];
  }, partnersOf(a, w));
}

/**
 * Batched matrix product of two 3-D tensors (no broadcasting, as torch.bmm).
 *
 * Shape: (b, n, m) · (b, m, p) → (b, n, p).
 *
 * Example: `bmm(q, k.transpose(1, 2))` gives attention scores per batch entry.
 */
export function bmm(a: Tensor, b: Tensor): Tensor {
  return inOpContext('bmm', () => {
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
  });
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
  return inOpContext('baddbmm', () => {
    checkTensor('baddbmm', input);
    const { beta = 1, alpha = 1 } = checkOptions('baddbmm', options, { beta: { number: {} }, alpha: { number: {} } });
    const product = bmm(a, b);
    if (!sameShape(broadcastShapes(input.shape, product.shape, 'baddbmm'), product.shape)) {
      throw new ShapeError(`baddbmm: input ${formatShape(input.shape)} does not broadcast to the product's shape ${formatShape(product.shape)}`);
    }
    const scaled = alpha === 1 ? product : mul(product, alpha);
    if (beta === 0) return scaled; // input is not read (as PyTorch: its NaN and infinity do not propagate)
    return add(beta === 1 ? input : mul(input, beta), scaled);
  });
}
