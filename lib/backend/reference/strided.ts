/**
 * Strided gather/scatter of the reference backend: `stridedCopy` (strided view → contiguous)
 * and its inverse `stridedScatter` (contiguous → strided view, optionally accumulating).
 * Together they cover permute, expand, slicing and flips (negative strides), and their
 * gradients. Both walk `shape` with the shared odometer, one innermost row at a time.
 */
import type { DataArray, NumberArray } from '../../dtype.js';
import { rejectHalfBits } from './elementwise.js';
import { checkLength, checkStridedBounds, forEachRow, numel, rowLength, rowStride } from './odometer.js';

/**
 * dst (shape, contiguous) = src viewed with `srcOffset` and `srcStrides`:
 * dst[i0, i1, …] = src[srcOffset + Σ i_d · srcStrides[d]]. Strides may be 0 or negative.
 */
export function stridedCopy(
  src: DataArray,
  srcOffset: number,
  shape: Int32Array,
  srcStrides: Int32Array,
  dst: DataArray,
): void {
  checkLength('stridedCopy: dst', dst.length, numel(shape));
  checkStridedBounds('stridedCopy: src', src.length, srcOffset, shape, srcStrides);
  const len = rowLength(shape);
  const step = rowStride(srcStrides);
  forEachRow(shape, [srcStrides], [srcOffset], (start, bases) => {
    let s = bases[0];
    for (let d = start, end = start + len; d < end; d++, s += step) dst[d] = src[s];
  });
}

/**
 * Writes src (shape, contiguous) into dst viewed with `dstOffset` and `dstStrides`:
 * dst[dstOffset + Σ i_d · dstStrides[d]] = src[i], or `+=` when `accumulate`. With
 * accumulate, elements that land on one place (zero strides) are summed — the gradient of
 * expand; without it, the last one written wins.
 */
export function stridedScatter(
  src: DataArray,
  dst: DataArray,
  dstOffset: number,
  shape: Int32Array,
  dstStrides: Int32Array,
  accumulate: boolean,
): void {
  checkLength('stridedScatter: src', src.length, numel(shape));
  checkStridedBounds('stridedScatter: dst', dst.length, dstOffset, shape, dstStrides);
  if (accumulate) rejectHalfBits('stridedScatter', dst);
  const len = rowLength(shape);
  const step = rowStride(dstStrides);
  // `+=` on int64 storage adds bigints (src and dst share the dtype), exactly.
  forEachRow(shape, [dstStrides], [dstOffset], (start, bases) => {
    let d = bases[0];
    const end = start + len;
    if (accumulate) for (let s = start; s < end; s++, d += step) (dst as NumberArray)[d] += (src as NumberArray)[s];
    else for (let s = start; s < end; s++, d += step) dst[d] = src[s];
  });
}
