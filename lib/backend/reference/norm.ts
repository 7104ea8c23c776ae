/**
 * Layer normalization on the reference backend: plain loops over rows, statistics in float64.
 * Same contract as the native kernel (see Backend.layerNorm, Backend.layerNormBackward).
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
