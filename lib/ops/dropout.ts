/**
 * Elementwise dropout with a counter-based mask (Backend.dropout): element i is kept, scaled by
 * 1/(1 − p), where a hash of (seed, i) says so. The mask is never stored: the backward is the
 * same op on the gradient with the same seed, so it is differentiable to any order, and both
 * backends draw the same mask for the same seed.
 */
import { getBackend } from '../backend/index.js';
import { allocateOutput, type FloatArray } from '../dtype.js';
import { record } from '../autograd/engine.js';
import { Tensor } from '../tensor.js';

/** A dropout mask's parameters: threshold = round(p·2²⁴), the seed's 32-bit halves and 1/(1 − p). */
export interface CounterDropout {
  threshold: number;
  seedHigh: number;
  seedLow: number;
  keepScale: number;
}

/**
 * x with the elements the mask drops set to 0 and the rest scaled by keepScale. x is float32
 * or float64 (the caller checks).
 *
 * Example: `counterDropout(x, { threshold: Math.round(0.1 * 2 ** 24), seedHigh: 1, seedLow: 2, keepScale: 1 / 0.9 })`
 */
export function counterDropout(x: Tensor, mask: CounterDropout): Tensor {
  const out = allocateOutput(x.dtype, x.numel) as FloatArray;
  getBackend().dropout(x.data as FloatArray, out, mask.threshold, mask.seedHigh, mask.seedLow, mask.keepScale);
  const y = new Tensor(out, x.shape, x.dtype);
  return record(y, 'dropout', [x], (grad) => [counterDropout(grad, mask)], []);
}
