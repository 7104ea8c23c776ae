/**
 * Index kernels of the reference backend: indexSelect / indexAdd (one index list shared by
 * every (outer, inner) position) and gather / scatterAdd (one index per output element).
 *
 * Arrays are seen as (outer, n, inner) for the indexed side and (outer, m, inner) for the
 * other. Every index is checked before anything is written, so a bad index throws a
 * RangeError and leaves the output untouched (which matters for the accumulating kernels).
 */
import type { DataArray, NumberArray } from '../../dtype.js';
import { rejectHalfBits } from './elementwise.js';
import { checkLength } from './odometer.js';

/** Throws a RangeError naming the first index of idx outside [0, n). */
function checkIndices(what: string, idx: Int32Array, n: number): void {
  for (let t = 0; t < idx.length; t++) {
    const v = idx[t];
    if (v < 0 || v >= n) {
      throw new RangeError(`${what}: index ${v} is out of range for an axis of size ${n} (at position ${t})`);
    }
  }
}

/**
 * out (outer, m, inner) = x (outer, n, inner) picked along n by idx (m = idx.length):
 * out[o, j, i] = x[o, idx[j], i]. Throws a RangeError for an index outside [0, n).
 */
export function indexSelect(x: DataArray, idx: Int32Array, out: DataArray, outer: number, n: number, inner: number): void {
  const m = idx.length;
  checkLength('indexSelect: x', x.length, outer * n * inner);
  checkLength('indexSelect: out', out.length, outer * m * inner);
  checkIndices('indexSelect', idx, n);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const from = (o * n + idx[j]) * inner;
      const to = (o * m + j) * inner;
      for (let i = 0; i < inner; i++) out[to + i] = x[from + i];
    }
  }
}

/**
 * dst (outer, n, inner) += src (outer, m, inner) scattered along n by idx (m = idx.length):
 * dst[o, idx[j], i] += src[o, j, i]; repeated indices add up. The gradient of indexSelect.
 */
export function indexAdd(src: DataArray, idx: Int32Array, dst: DataArray, outer: number, n: number, inner: number): void {
  const m = idx.length;
  checkLength('indexAdd: src', src.length, outer * m * inner);
  checkLength('indexAdd: dst', dst.length, outer * n * inner);
  checkIndices('indexAdd', idx, n);
  rejectHalfBits('indexAdd', dst);
  // `+=` on int64 storage adds bigints (src and dst share the dtype), exactly.
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const from = (o * m + j) * inner;
      const to = (o * n + idx[j]) * inner;
      for (let i = 0; i < inner; i++) (dst as NumberArray)[to + i] += (src as NumberArray)[from + i];
    }
  }
}

/**
 * out[o, j, i] = x[o, idx[o, j, i], i], with x (outer, n, inner) and idx, out
 * (outer, m, inner). Throws a RangeError for an index outside [0, n).
 */
export function gather(x: DataArray, idx: Int32Array, out: DataArray, outer: number, n: number, m: number, inner: number): void {
  checkLength('gather: x', x.length, outer * n * inner);
  checkLength('gather: idx', idx.length, outer * m * inner);
  checkLength('gather: out', out.length, outer * m * inner);
  checkIndices('gather', idx, n);
  for (let o = 0; o < outer; o++) {
    const xBase = o * n * inner;
    for (let j = 0; j < m; j++) {
      const row = (o * m + j) * inner;
      for (let i = 0; i < inner; i++) out[row + i] = x[xBase + idx[row + i] * inner + i];
    }
  }
}

/**
 * dst[o, idx[o, j, i], i] += src[o, j, i], with src and idx (outer, m, inner) and dst
 * (outer, n, inner); repeated indices add up. The gradient of gather.
 */
export function scatterAdd(
  src: DataArray,
  idx: Int32Array,
  dst: DataArray,
  outer: number,
  n: number,
  m: number,
  inner: number,
): void {
  checkLength('scatterAdd: src', src.length, outer * m * inner);
  checkLength('scatterAdd: idx', idx.length, outer * m * inner);
  checkLength('scatterAdd: dst', dst.length, outer * n * inner);
  checkIndices('scatterAdd', idx, n);
  rejectHalfBits('scatterAdd', dst);
  // `+=` on int64 storage adds bigints (src and dst share the dtype), exactly.
  for (let o = 0; o < outer; o++) {
    const dBase = o * n * inner;
    for (let j = 0; j < m; j++) {
      const row = (o * m + j) * inner;
      for (let i = 0; i < inner; i++) (dst as NumberArray)[dBase + idx[row + i] * inner + i] += (src as NumberArray)[row + i];
    }
  }
}
