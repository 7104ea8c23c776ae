/**
 * Layer and batch normalization on the reference backend: plain loops, statistics in float64.
 * Same contract as the native kernels (see Backend.layerNorm, Backend.layerNormBackward,
 * Backend.batchNorm, Backend.batchNormBackward).
 */
import type { FloatArray } from '../../dtype.js';

/** out, mean, rstd of layer normalization over rows of n; see Backend.layerNorm. */
export function layerNorm(
  x: FloatArray,
  weight: FloatArray | null,
  bias: FloatArray | null,
  out: FloatArray,
  mean: FloatArray,
  rstd: FloatArray,
  rows: number,
  n: number,
  eps: number,
): void {
  for (let r = 0; r < rows; r++) {
    const at = r * n;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += x[at + i];
    const m = sum / n;
    let squares = 0;
    for (let i = 0; i < n; i++) squares += (x[at + i] - m) ** 2;
    const s = 1 / Math.sqrt(squares / n + eps);
    mean[r] = m;
    rstd[r] = s;
    for (let i = 0; i < n; i++) out[at + i] = (x[at + i] - m) * s * (weight === null ? 1 : weight[i]) + (bias === null ? 0 : bias[i]);
  }
}

/** gx, and gw, gb when given, of layerNorm; see Backend.layerNormBackward. */
export function layerNormBackward(
  gy: FloatArray,
  x: FloatArray,
  weight: FloatArray | null,
  mean: FloatArray,
  rstd: FloatArray,
  gx: FloatArray,
  gw: FloatArray | null,
  gb: FloatArray | null,
  rows: number,
  n: number,
): void {
  gw?.fill(0);
  gb?.fill(0);
  const g = new Float64Array(n);
  const xhat = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    const at = r * n;
    let sumG = 0;
    let sumGXhat = 0;
    for (let i = 0; i < n; i++) {
      g[i] = gy[at + i] * (weight === null ? 1 : weight[i]);
      xhat[i] = (x[at + i] - mean[r]) * rstd[r];
      sumG += g[i];
      sumGXhat += g[i] * xhat[i];
      if (gw !== null) gw[i] += gy[at + i] * xhat[i];
      if (gb !== null) gb[i] += gy[at + i];
    }
    for (let i = 0; i < n; i++) gx[at + i] = rstd[r] * (g[i] - sumG / n - xhat[i] * (sumGXhat / n));
  }
}

/** Calls visit(at) with the start of each of the n rows of channel ch of a (n, c, inner) tensor. */
function forEachRow(n: number, c: number, inner: number, ch: number, visit: (at: number) => void): void {
  for (let i = 0; i < n; i++) visit((i * c + ch) * inner);
}

/** out, mean, variance, rstd of batch normalization over (n, c, inner); see Backend.batchNorm. */
export function batchNorm(
  x: FloatArray,
  weight: FloatArray | null,
  bias: FloatArray | null,
  out: FloatArray,
  mean: FloatArray,
  variance: FloatArray,
  rstd: FloatArray,
  n: number,
  c: number,
  inner: number,
  eps: number,
): void {
  const count = n * inner;
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    forEachRow(n, c, inner, ch, (at) => {
      for (let j = 0; j < inner; j++) sum += x[at + j];
    });
    const m = sum / count;
    let squares = 0;
    forEachRow(n, c, inner, ch, (at) => {
      for (let j = 0; j < inner; j++) squares += (x[at + j] - m) ** 2;
    });
    const s = 1 / Math.sqrt(squares / count + eps);
    [mean[ch], variance[ch], rstd[ch]] = [m, squares / count, s];
    const [w, b] = [weight === null ? 1 : weight[ch], bias === null ? 0 : bias[ch]];
    forEachRow(n, c, inner, ch, (at) => {
      for (let j = 0; j < inner; j++) out[at + j] = (x[at + j] - m) * s * w + b;
    });
  }
}

/** gx, and gw, gb when given, of batchNorm; see Backend.batchNormBackward. */
export function batchNormBackward(
  gy: FloatArray,
  x: FloatArray,
  weight: FloatArray | null,
  mean: FloatArray,
  rstd: FloatArray,
  gx: FloatArray,
  gw: FloatArray | null,
  gb: FloatArray | null,
  n: number,
  c: number,
  inner: number,
): void {
  const count = n * inner;
  for (let ch = 0; ch < c; ch++) {
    const [m, s] = [mean[ch], rstd[ch]];
    let sumG = 0;
    let sumGXhat = 0;
    forEachRow(n, c, inner, ch, (at) => {
      for (let j = 0; j < inner; j++) {
        sumG += gy[at + j];
        sumGXhat += gy[at + j] * (x[at + j] - m) * s;
      }
    });
    if (gw !== null) gw[ch] = sumGXhat;
    if (gb !== null) gb[ch] = sumG;
    const scale = (weight === null ? 1 : weight[ch]) * s;
    forEachRow(n, c, inner, ch, (at) => {
      for (let j = 0; j < inner; j++) gx[at + j] = scale * (gy[at + j] - sumG / count - (x[at + j] - m) * s * (sumGXhat / count));
    });
  }
}
