/**
 * Batched matrix product of the reference backend.
 *
 * A naive triple loop in i-l-j order: for each output row, accumulate a[i, l] · b[l, :] into
 * a double-precision row buffer, then store it. Rows of b are read contiguously in the
 * common untransposed case, and float32 products are summed in double.
 */
import type { FloatArray } from '../../dtype.js';
import type { MatmulLayout } from '../backend.js';
import { decodeHalf, encodeHalf } from '../../half.js';
import { checkLength } from './odometer.js';

/**
 * out (batch, m, n) = op(a[p]) (m, k) · op(b[p]) (k, n) for p < batch, overwriting out.
 * a[p] is stored (m, k), or (k, m) when transA, starting at p·aBatchStride; b[p] is stored
 * (k, n), or (n, k) when transB, starting at p·bBatchStride. A batch stride of 0 broadcasts
 * one matrix over the batch. k = 0 gives zeros. layout (optional): the operands' start
 * offsets and stored row strides (lda, ldb) when they are views, 0 or omitted meaning dense,
 * an outer batch level (out is then (outer.count, batch, m, n)) and a bias (n) added to every
 * row (summed in double with the products).
 */
export function matmul(
  a: FloatArray,
  b: FloatArray,
  out: FloatArray,
  batch: number,
  m: number,
  k: number,
  n: number,
  aBatchStride: number,
  bBatchStride: number,
  transA: boolean,
  transB: boolean,
  layout?: MatmulLayout,
): void {
  const outer = layout?.outer;
  if (outer !== undefined && layout !== undefined) {
    const size = batch * m * n;
    checkLength('matmul: out', out.length, outer.count * size);
    for (let o = 0; o < outer.count; o++) {
      const level = { ...layout, aOffset: layout.aOffset + o * outer.aStride, bOffset: layout.bOffset + o * outer.bStride, outer: undefined };
      matmul(a, b, out.subarray(o * size, (o + 1) * size) as FloatArray, batch, m, k, n, aBatchStride, bBatchStride, transA, transB, level);
    }
    return;
  }
  const aOffset = layout?.aOffset ?? 0;
  const bOffset = layout?.bOffset ?? 0;
  const lda = layout?.lda || (transA ? m : k);
  const ldb = layout?.ldb || (transB ? k : n);
  checkLength('matmul: out', out.length, batch * m * n);
  checkOperand('a', a.length, batch, aBatchStride, transA ? k : m, transA ? m : k, aOffset, lda);
  checkOperand('b', b.length, batch, bBatchStride, transB ? n : k, transB ? k : n, bOffset, ldb);
  // Element strides of op(a) (rows i, cols l) and op(b) (rows l, cols j).
  const ai = transA ? 1 : lda;
  const al = transA ? lda : 1;
  const bl = transB ? 1 : ldb;
  const bj = transB ? ldb : 1;
  const bias = layout?.bias;
  if (bias !== undefined) checkLength('matmul: bias', bias.length, n);
  const acc = new Float64Array(n);
  for (let p = 0; p < batch; p++) {
    const aStart = aOffset + p * aBatchStride;
    const bStart = bOffset + p * bBatchStride;
    const outStart = p * m * n;
    for (let i = 0; i < m; i++) {
      if (bias === undefined) acc.fill(0);
      else acc.set(bias);
      for (let l = 0; l < k; l++) {
        const av = a[aStart + i * ai + l * al];
        const bRow = bStart + l * bl;
        for (let j = 0; j < n; j++) acc[j] += av * b[bRow + j * bj];
      }
      const outRow = outStart + i * n;
      for (let j = 0; j < n; j++) out[outRow + j] = acc[j];
    }
  }
}

/** Checks that `batch` stored (rows, cols) matrices, rows ld apart, `stride` apart from offset, fit in `length`. */
function checkOperand(name: string, length: number, batch: number, stride: number, rows: number, cols: number, offset: number, ld: number): void {
  if (stride < 0 || offset < 0) throw new RangeError(`matmul: ${name} batch stride ${stride} and offset ${offset} must be ≥ 0`);
  if (rows > 1 && ld < cols) throw new RangeError(`matmul: ${name} leading dimension ${ld} is smaller than its ${cols} columns`);
  if (batch === 0 || rows * cols === 0) return;
  const needed = offset + (batch - 1) * stride + (rows - 1) * ld + cols;
  if (length < needed) {
    throw new RangeError(`matmul: ${name} has length ${length}, needs ${needed} (batch ${batch}, stride ${stride}, offset ${offset}, ld ${ld})`);
  }
}

/**
 * matmul of bfloat16 operands (bit patterns): both widened to float32 (exact), multiplied by
 * `matmul` (products summed in double), the sums stored in a Float32Array `out` or rounded to
 * bfloat16 into a Uint16Array one. The oracle of the native bfloat16 GEMM.
 */
export function matmulBFloat16(
  a: Uint16Array,
  b: Uint16Array,
  out: Uint16Array | Float32Array,
  batch: number,
  m: number,
  k: number,
  n: number,
  aBatchStride: number,
  bBatchStride: number,
  transA: boolean,
  transB: boolean,
  layout?: MatmulLayout,
): void {
  if (layout?.bias !== undefined) throw new RangeError('matmulBFloat16: takes no bias (add it to the float32 sums)');
  const sums = out instanceof Float32Array ? out : new Float32Array(out.length);
  matmul(widened(a), widened(b), sums, batch, m, k, n, aBatchStride, bBatchStride, transA, transB, layout);
  if (out instanceof Uint16Array) encodeHalf('bfloat16', sums, out);
}

/** The float32 values of bfloat16 bit patterns. */
function widened(bits: Uint16Array): Float32Array {
  const values = new Float32Array(bits.length);
  decodeHalf('bfloat16', bits, values);
  return values;
}
