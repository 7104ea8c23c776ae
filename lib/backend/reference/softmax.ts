/**
 * Softmax and log-softmax of the reference backend, forward and backward side by side.
 *
 * x is seen as (outer, n, inner) and normalised along n; element (o, j, i) sits at
 * o·n·inner + j·inner + i. Sums are accumulated in double precision.
 */
import type { FloatArray } from '../../dtype.js';
import { checkLength } from './odometer.js';

/**
 * out (outer, n, inner) = softmax (or log-softmax when `log`) of x along n, computed stably:
 * with m = max_j x_j and s = Σ_j exp(x_j − m),
 * softmax_j = exp(x_j − m) / s and log-softmax_j = x_j − m − log s.
 * A NaN anywhere on a line makes the whole line NaN, as does a line of all −Infinity.
 */
export function softmax(x: FloatArray, out: FloatArray, outer: number, n: number, inner: number, log: boolean): void {
  checkLength('softmax: x', x.length, outer * n * inner);
  checkLength('softmax: out', out.length, x.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const start = o * n * inner + i;
      const end = start + n * inner;
      let m = -Infinity;
      for (let p = start; p < end; p += inner) {
        const v = x[p];
        if (v > m || v !== v) m = v;
        if (m !== m) break;
      }
      let s = 0;
      for (let p = start; p < end; p += inner) s += Math.exp(x[p] - m);
      if (log) {
        // (x − m) − log s, not x − (m + log s): for m = −1e38, m + log s rounds back to m.
        const logS = Math.log(s);
        for (let p = start; p < end; p += inner) out[p] = x[p] - m - logS;
      } else {
        for (let p = start; p < end; p += inner) out[p] = Math.exp(x[p] - m) / s;
      }
    }
  }
}

/**
 * gx (outer, n, inner) from the forward output y and its gradient gy (same shape), along n:
 * softmax: gx_j = y_j · (gy_j − Σ_k gy_k·y_k); log-softmax: gx_j = gy_j − exp(y_j) · Σ_k gy_k.
 */
export function softmaxBackward(
  y: FloatArray,
  gy: FloatArray,
  gx: FloatArray,
  outer: number,
  n: number,
  inner: number,
  log: boolean,
): void {
  checkLength('softmaxBackward: y', y.length, outer * n * inner);
  checkLength('softmaxBackward: gy', gy.length, y.length);
  checkLength('softmaxBackward: gx', gx.length, y.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const start = o * n * inner + i;
      const end = start + n * inner;
      if (log) {
        let s = 0;
        for (let p = start; p < end; p += inner) s += gy[p];
        for (let p = start; p < end; p += inner) gx[p] = gy[p] - Math.exp(y[p]) * s;
      } else {
        let dot = 0;
        for (let p = start; p < end; p += inner) dot += gy[p] * y[p];
        for (let p = start; p < end; p += inner) gx[p] = y[p] * (gy[p] - dot);
      }
    }
  }
}
