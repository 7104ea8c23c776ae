/**
 * Batched matrix product of the reference backend.
 *
 * A naive triple loop in i-l-j order: for each output row, accumulate a[i, l] · b[l, :] into
 * a double-precision row buffer, then store it. Rows of b are read contiguously in the
 * common untransposed case, and float32 products are summed in double.
 */
import type { FloatArray } from '../../dtype.js';
import { checkLength } from './odometer.js';

/**
 * out (batch, m, n) = op(a[p]) (m, k) · op(b[p]) (k, n) for p < batch, overwriting out.
 * a[p] is stored (m, k), or (k, m) when transA, starting at p·aBatchStride; b[p] is stored
 * (k, n), or (n, k) when transB, starting at p·bBatchStride. A batch stride of 0 broadcasts
 * one matrix over the batch. k = 0 gives zeros.
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
): void {
  checkLength('matmul: out', out.length, batch * m * n);
  checkOperand('a', a.length, batch, aBatchStride, m * k);
  checkOperand('b', b.length, batch, bBatchStride, k * n);
  // Element strides of op(a) (rows i, cols l) and op(b) (rows l, cols j).
  const ai = transA ? 1 : k;
  const al = transA ? m : 1;
  const bl = transB ? 1 : n;
  const bj = transB ? k : 1;
  const acc = new Float64Array(n);
  for (let p = 0; p < batch; p++) {
    const aStart = p * aBatchStride;
    const bStart = p * bBatchStride;
    const outStart = p * m * n;
    for (let i = 0; i < m; i++) {
      acc.fill(0);
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

/** Checks that `batch` matrices of `size` elements, `stride` apart, fit in `length`. */
function checkOperand(name: string, length: number, batch: number, stride: number, size: number): void {
  if (batch === 0 || size === 0) return;
  if (stride < 0) throw new RangeError(`matmul: ${name} batch stride ${stride} is negative`);
  const needed = (batch - 1) * stride + size;
  if (length < needed) {
    throw new RangeError(`matmul: ${name} has length ${length}, needs ${needed} (batch ${batch}, stride ${stride})`);
  }
}
