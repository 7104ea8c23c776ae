/**
 * Layer normalization as one fused op (Backend.layerNorm / layerNormBackward): one pass over
 * x forward, one backward, instead of the nine elementwise and reduction ops of the composed
 * formula and their backwards. Under createGraph the backward is recorded with differentiable
 * ops (the gradient formula, statistics recomputed from x), so it stays twice differentiable.
 */
import { getBackend } from '../backend/index.js';
import { allocateOutput, type FloatArray } from '../dtype.js';
import { record } from '../autograd/engine.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import { Tensor } from '../tensor.js';
import { add, mul, rsqrt, square, sub } from './elementwise.js';
import { mean, sum } from './reduce.js';
import { reshape } from './shape.js';

/**
 * x normalized over its last n elements (biased variance, eps added), then scaled by weight
 * and shifted by bias (each of n elements, or null). x, weight and bias share a float dtype
 * (float32 or float64) and n ≥ 1: the caller (F.layerNorm) checks.
 *
 * Example: `fusedLayerNorm(x, 256, norm.weight, norm.bias, 1e-5)` for x (…, 256).
 */
export function fusedLayerNorm(x: Tensor, n: number, weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
  const rows = x.numel / n;
  const xd = x.data as FloatArray;
  const [wd, bd] = [weight, bias].map((t) => (t === null ? null : (t.data as FloatArray)));
  const out = allocateOutput(x.dtype, x.numel) as FloatArray;
  const meanData = allocateOutput(x.dtype, rows) as FloatArray;
  const rstdData = allocateOutput(x.dtype, rows) as FloatArray;
  getBackend().layerNorm(xd, wd, bd, out, meanData, rstdData, rows, n, eps);
  const y = new Tensor(out, x.shape, x.dtype);
  const inputs = [x, weight, bias].filter((t): t is Tensor => t !== null);
  return record(y, 'layerNorm', inputs, (grad) => {
    const gradients = isGradEnabled()
      ? gradientsWithOps(x, grad, weight, n, eps)
      : gradientsWithKernel(xd, grad, wd, meanData, rstdData, rows, n, weight !== null, bias !== null, x.dtype);
    const [gx, gw, gb] = gradients;
    return [gx, ...(weight === null ? [] : [gw!]), ...(bias === null ? [] : [gb!])].map((g, i) => reshape(g, inputs[i].shape));
  });
}

/** gx, gw, gb by the backward kernel (gw, gb null when not wanted). */
function gradientsWithKernel(
  xd: FloatArray,
  grad: Tensor,
  wd: FloatArray | null,
  meanData: FloatArray,
  rstdData: FloatArray,
  rows: number,
  n: number,
  wantWeight: boolean,
  wantBias: boolean,
  dtype: Tensor['dtype'],
): [Tensor, Tensor | null, Tensor | null] {
  const gx = allocateOutput(dtype, xd.length) as FloatArray;
  const gw = wantWeight ? (allocateOutput(dtype, n) as FloatArray) : null;
  const gb = wantBias ? (allocateOutput(dtype, n) as FloatArray) : null;
  getBackend().layerNormBackward(grad.data as FloatArray, xd, wd, meanData, rstdData, gx, gw, gb, rows, n);
  const wrap = (a: FloatArray | null, shape: number[]): Tensor | null => (a === null ? null : new Tensor(a, shape, dtype));
  return [wrap(gx, [rows, n])!, wrap(gw, [n]), wrap(gb, [n])];
}

/**
 * The same gradients written with differentiable ops, the statistics recomputed from x, for a
 * backward recorded under createGraph: gx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = gy·weight.
 */
function gradientsWithOps(x: Tensor, grad: Tensor, weight: Tensor | null, n: number, eps: number): [Tensor, Tensor, Tensor] {
  const x2 = reshape(x, [-1, n]);
  const gy = reshape(grad, [-1, n]);
  const centered = sub(x2, mean(x2, [1], true));
  const rstd = rsqrt(add(mean(square(centered), [1], true), eps));
  const xhat = mul(centered, rstd);
  const g = weight === null ? gy : mul(gy, reshape(weight, [n]));
  const gx = mul(rstd, sub(sub(g, mean(g, [1], true)), mul(xhat, mean(mul(g, xhat), [1], true))));
  return [gx, sum(mul(gy, xhat), [0]), sum(gy, [0])];
}
