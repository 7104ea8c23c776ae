/**
 * Reference twin of the fused softmax cross-entropy kernels (native/kernels/loss.cc): the
 * same per-sample formulas, in double precision. See `Backend.softmaxCrossEntropy`.
 */
import type { FloatArray } from '../../dtype.js';
import type { CrossEntropyConfig } from '../fused-configs.js';

/** Throws a RangeError for a target that is neither ignoreIndex nor in [0, n). */
function checkTargets(op: string, target: Int32Array, c: CrossEntropyConfig): void {
  for (let s = 0; s < target.length; s++) {
    const t = target[s];
    if (t !== c.ignoreIndex && (t < 0 || t >= c.n)) {
      throw new RangeError(`${op}: target ${t} at position ${s} is out of range for n=${c.n} classes`);
    }
  }
}

/** log Σ_j exp(x[base + j·inner]) over j < n, with the max subtracted first. */
function logSumExp(x: FloatArray, base: number, n: number, inner: number): number {
  let max = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = x[base + j * inner];
    if (v > max || Number.isNaN(v)) max = v;
    if (Number.isNaN(max)) return NaN;
  }
  if (!Number.isFinite(max)) return max;
  let sum = 0;
  for (let j = 0; j < n; j++) sum += Math.exp(x[base + j * inner] - max);
  return max + Math.log(sum);
}

export function softmaxCrossEntropy(
  logits: FloatArray,
  target: Int32Array,
  weight: FloatArray | null,
  loss: FloatArray,
  lse: FloatArray,
  c: CrossEntropyConfig,
): void {
  checkTargets('softmaxCrossEntropy', target, c);
  const w = (j: number): number => (weight === null ? 1 : weight[j]);
  for (let o = 0; o < c.outer; o++) {
    for (let i = 0; i < c.inner; i++) {
      const s = o * c.inner + i;
      const base = o * c.n * c.inner + i;
      const l = logSumExp(logits, base, c.n, c.inner);
      lse[s] = l;
      const t = target[s];
      if (t === c.ignoreIndex) {
        loss[s] = 0;
        continue;
      }
      let value = w(t) * (l - logits[base + t * c.inner]);
      if (c.labelSmoothing !== 0) {
        let smooth = 0;
        for (let j = 0; j < c.n; j++) smooth += w(j) * (l - logits[base + j * c.inner]);
        value = (1 - c.labelSmoothing) * value + (c.labelSmoothing / c.n) * smooth;
      }
      loss[s] = value;
    }
  }
}

export function softmaxCrossEntropyBackward(
  logits: FloatArray,
  target: Int32Array,
  weight: FloatArray | null,
  lse: FloatArray,
  gradLoss: FloatArray,
  gradLogits: FloatArray,
  c: CrossEntropyConfig,
): void {
  checkTargets('softmaxCrossEntropyBackward', target, c);
  const w = (j: number): number => (weight === null ? 1 : weight[j]);
  let weightSum = 0;
  for (let j = 0; j < c.n; j++) weightSum += w(j);
  for (let o = 0; o < c.outer; o++) {
    for (let i = 0; i < c.inner; i++) {
      const s = o * c.inner + i;
      const base = o * c.n * c.inner + i;
      const t = target[s];
      if (t === c.ignoreIndex) {
        for (let j = 0; j < c.n; j++) gradLogits[base + j * c.inner] = 0;
        continue;
      }
      const pick = gradLoss[s] * (1 - c.labelSmoothing) * w(t);
      const smooth = (gradLoss[s] * c.labelSmoothing) / c.n;
      for (let j = 0; j < c.n; j++) {
        const p = Math.exp(logits[base + j * c.inner] - lse[s]);
        gradLogits[base + j * c.inner] = pick * p + smooth * (weightSum * p - w(j)) - (j === t ? pick : 0);
      }
    }
  }
}
