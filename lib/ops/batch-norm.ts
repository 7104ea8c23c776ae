/**
 * Batch normalization with the batch's statistics as one fused op (Backend.batchNorm /
 * batchNormBackward): one output tensor forward and one gradient backward, instead of the
 * five full-size tensors (centered, squared, normalized, scaled, shifted) of the composed
 * formula and about as many again in its backward. A training step of a ResNet holds one
 * activation per batch norm instead of five. Under createGraph the backward is recorded with
 * differentiable ops (statistics recomputed from x), so it stays twice differentiable.
 */
import { getBackend } from '../backend/index.js';
import { allocateOutput, type FloatArray } from '../dtype.js';
import { record } from '../autograd/engine.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import { Tensor } from '../tensor.js';
import { add, mul, rsqrt, square, sub } from './elementwise.js';
import { mean, sum } from './reduce.js';
import { reshape } from './shape.js';

/** The normalized batch and the statistics it was normalized with. */
export interface FusedBatchNormResult {
  /** (x − mean)/√(variance + eps)·weight + bias, shaped like x. */
  y: Tensor;
  /** The per-channel batch mean (C). */
  mean: Tensor;
  /** The per-channel biased batch variance (C). */
  variance: Tensor;
}

/**
 * x (N, C, …) normalized per channel over every other dim with the batch's mean and biased
 * variance, then scaled by weight and shifted by bias (each (C) or null). x, weight and bias
 * share a float dtype (float32 or float64) and every channel has at least one value: the
 * caller (F.batchNorm) checks.
 *
 * Example: `fusedBatchNorm(x, bn.weight, bn.bias, 1e-5).y` for x (8, 64, 32, 32).
 */
export function fusedBatchNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): FusedBatchNormResult {
  const [n, c] = x.shape;
  const inner = x.numel / (n * c);
  const xc = x.contiguous();
  const xd = xc.data as FloatArray;
  const [wd, bd] = [weight, bias].map((t) => (t === null ? null : (t.contiguous().data as FloatArray)));
  const out = allocateOutput(x.dtype, x.numel) as FloatArray;
  const [meanData, varianceData, rstdData] = [0, 1, 2].map(() => allocateOutput(x.dtype, c) as FloatArray);
  getBackend().batchNorm(xd, wd, bd, out, meanData, varianceData, rstdData, n, c, inner, eps);
  const inputs = [x, weight, bias].filter((t): t is Tensor => t !== null);
  const y = record(new Tensor(out, x.shape, x.dtype), 'batchNorm', inputs, (grad) => {
    const [gx, gw, gb] = isGradEnabled()
      ? gradientsWithOps(xc, grad, weight, eps)
      : gradientsWithKernel(xc, grad.contiguous(), wd, meanData, rstdData, weight !== null, bias !== null);
    return [gx, ...(weight === null ? [] : [gw]), ...(bias === null ? [] : [gb])];
  }, [xc]);
  return { y, mean: new Tensor(meanData, [c], x.dtype), variance: new Tensor(varianceData, [c], x.dtype) };
}

/** gx, gw, gb by the backward kernel (gw, gb null when not wanted). x and gy are contiguous. */
function gradientsWithKernel(
  x: Tensor,
  gy: Tensor,
  wd: FloatArray | null,
  meanData: FloatArray,
  rstdData: FloatArray,
  wantWeight: boolean,
  wantBias: boolean,
): [Tensor, Tensor | null, Tensor | null] {
  const [n, c] = x.shape;
  const gx = allocateOutput(x.dtype, x.numel) as FloatArray;
  const gw = wantWeight ? (allocateOutput(x.dtype, c) as FloatArray) : null;
  const gb = wantBias ? (allocateOutput(x.dtype, c) as FloatArray) : null;
  getBackend().batchNormBackward(gy.data as FloatArray, x.data as FloatArray, wd, meanData, rstdData, gx, gw, gb, n, c, x.numel / (n * c));
  const wrap = (a: FloatArray | null, shape: readonly number[]): Tensor | null => (a === null ? null : new Tensor(a, [...shape], x.dtype));
  return [wrap(gx, x.shape)!, wrap(gw, [c]), wrap(gb, [c])];
}

/**
 * The same gradients written with differentiable ops, the statistics recomputed from x, for a
 * backward recorded under createGraph: gx = weight·rstd·(gy − mean(gy) − x̂·mean(gy·x̂)).
 */
function gradientsWithOps(x: Tensor, gy: Tensor, weight: Tensor | null, eps: number): [Tensor, Tensor, Tensor] {
  const dims = [0, ...Array.from({ length: x.ndim - 2 }, (_, i) => i + 2)];
  const perChannel = (v: Tensor): Tensor => reshape(v, [x.shape[1], ...new Array<number>(x.ndim - 2).fill(1)]);
  const centered = sub(x, mean(x, dims, true));
  const rstd = rsqrt(add(mean(square(centered), dims, true), eps));
  const xhat = mul(centered, rstd);
  const scale = weight === null ? rstd : mul(perChannel(weight), rstd);
  const gx = mul(scale, sub(sub(gy, mean(gy, dims, true)), mul(xhat, mean(mul(gy, xhat), dims, true))));
  return [gx, sum(mul(gy, xhat), dims), sum(gy, dims)];
}
