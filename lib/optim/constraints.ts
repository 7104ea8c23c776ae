/**
 * Weight constraints applied after an optimizer step (the lecture's projection step): max-norm
 * and unit-norm. Both act in place, outside autograd, on each slice p[i] along dim 0, i.e. on
 * each output unit's incoming weights for a Linear weight (out, in), as `torch.renorm(p, 2, 0, c)`.
 * A 0-d tensor is one slice. Optimizers apply them per group (options `maxNorm`, `unitNorm`).
 */
import type { Tensor } from '../tensor.js';
import { type FloatArray } from '../dtype.js';

/** Calls fn(begin, end) for each slice of p along dim 0, as a range of p.data. */
function forEachSlice(p: Tensor, fn: (begin: number, end: number) => void): void {
  const rows = p.ndim === 0 ? 1 : p.shape[0];
  const size = rows === 0 ? 0 : p.numel / rows;
  for (let r = 0; r < rows; r++) fn(r * size, (r + 1) * size);
}

/** Multiplies p.data[begin, end) by scale when its L2 norm makes `pick(norm)` return a scale ≠ 1. */
function rescaleSlices(params: Iterable<Tensor>, pick: (norm: number) => number): void {
  for (const p of params) {
    const data = p.data as FloatArray;
    forEachSlice(p, (begin, end) => {
      let sumSquares = 0;
      for (let i = begin; i < end; i++) sumSquares += data[i] * data[i];
      const scale = pick(Math.sqrt(sumSquares));
      if (scale !== 1) for (let i = begin; i < end; i++) data[i] *= scale;
    });
  }
}

/**
 * Max-norm constraint: every slice p[i] whose L2 norm exceeds maxNorm is scaled down to norm
 * maxNorm (by maxNorm / (norm + 1e-7), as torch.renorm). In place.
 *
 * Args: params: the tensors to constrain; maxNorm: > 0.
 * Example: `optim.applyMaxNorm([fc.weight], 3)` after `opt.step()`.
 */
export function applyMaxNorm(params: Iterable<Tensor>, maxNorm: number): void {
  if (!(maxNorm > 0)) throw new RangeError(`applyMaxNorm: maxNorm must be > 0, got ${maxNorm}`);
  rescaleSlices(params, (norm) => (norm > maxNorm ? maxNorm / (norm + 1e-7) : 1));
}

/**
 * Unit-norm constraint: every slice p[i] is scaled to L2 norm 1 (norms below 1e-12 are
 * treated as 1e-12, as F.normalize). In place.
 *
 * Example: `optim.applyUnitNorm([embedding.weight])`.
 */
export function applyUnitNorm(params: Iterable<Tensor>): void {
  rescaleSlices(params, (norm) => 1 / Math.max(norm, 1e-12));
}
