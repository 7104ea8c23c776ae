/**
 * Fused attention on the reference backend: plain loops, one query row at a time, in the
 * precision of JavaScript numbers (float64) whatever the arrays' dtype. Same contract as the
 * native kernel (see Backend.attentionForward): only out (…, L, Ev) and lse (…, L) are stored,
 * the backward recomputes each row's probabilities from q, k and lse.
 */
import type { FloatArray } from '../../dtype.js';
import { AttentionMaskKind, type AttentionGeometry } from '../backend.js';

/** Row i of slice b's masked, scaled scores into `scores` (S): −∞ for excluded keys. */
function rowScores(q: FloatArray, k: FloatArray, g: AttentionGeometry, b: number, i: number, scores: Float64Array): void {
  const { L, S, E } = g;
  const qRow = (b * L + i) * E;
  for (let j = 0; j < S; j++) {
    const kRow = (b * S + j) * E;
    let dot = 0;
    for (let e = 0; e < E; e++) dot += q[qRow + e] * k[kRow + e];
    let score = dot * g.scale;
    const at = g.maskKind === AttentionMaskKind.float || g.maskKind === AttentionMaskKind.bool ? g.maskOffsets[b] + i * g.maskRowStride + j * g.maskColStride : 0;
    if (g.maskKind === AttentionMaskKind.float) score += g.floatMask![at];
    else if (g.maskKind === AttentionMaskKind.bool && !g.boolMask![at]) score = -Infinity;
    else if (g.maskKind === AttentionMaskKind.causal && j > i) score = -Infinity;
    scores[j] = score;
  }
}

/** The log-sum-exp of scores (−∞ when every score is −∞). */
function logSumExp(scores: Float64Array): number {
  let max = -Infinity;
  for (const s of scores) max = Math.max(max, s);
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (const s of scores) sum += Math.exp(s - max);
  return max + Math.log(sum);
}

/** exp(scores − lse) into p; NaN everywhere for a fully masked row (lse = −∞). */
function probabilities(scores: Float64Array, lse: number, p: Float64Array): void {
  for (let j = 0; j < scores.length; j++) p[j] = lse === -Infinity ? NaN : Math.exp(scores[j] - lse);
}

/** softmax(q·kᵀ·scale + mask)·v and the row log-sum-exps; see Backend.attentionForward. */
export function attentionForward(q: FloatArray, k: FloatArray, v: FloatArray, out: FloatArray, lse: FloatArray, g: AttentionGeometry): void {
  const { batch, L, S, Ev } = g;
  const scores = new Float64Array(S);
  const p = new Float64Array(S);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < L; i++) {
      rowScores(q, k, g, b, i, scores);
      const rowLse = logSumExp(scores);
      probabilities(scores, rowLse, p);
      lse[b * L + i] = rowLse;
      const outRow = (b * L + i) * Ev;
      for (let c = 0; c < Ev; c++) {
        let sum = 0;
        for (let j = 0; j < S; j++) sum += p[j] * v[(b * S + j) * Ev + c];
        out[outRow + c] = sum;
      }
    }
  }
}

/** dq, dk, dv of attentionForward (overwritten); see Backend.attentionBackward. */
export function attentionBackward(
  q: FloatArray,
  k: FloatArray,
  v: FloatArray,
  out: FloatArray,
  lse: FloatArray,
  dout: FloatArray,
  dq: FloatArray,
  dk: FloatArray,
  dv: FloatArray,
  g: AttentionGeometry,
): void {
  const { batch, L, S, E, Ev } = g;
  dq.fill(0);
  dk.fill(0);
  dv.fill(0);
  const scores = new Float64Array(S);
  const p = new Float64Array(S);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < L; i++) {
      rowScores(q, k, g, b, i, scores);
      probabilities(scores, lse[b * L + i], p);
      const row = b * L + i;
      let delta = 0; // D_i = Σ dout_i ∘ out_i
      for (let c = 0; c < Ev; c++) delta += dout[row * Ev + c] * out[row * Ev + c];
      for (let j = 0; j < S; j++) {
        const key = b * S + j;
        let dp = 0;
        for (let c = 0; c < Ev; c++) {
          dp += dout[row * Ev + c] * v[key * Ev + c];
          dv[key * Ev + c] += p[j] * dout[row * Ev + c];
        }
        const ds = p[j] * (dp - delta) * g.scale;
        for (let e = 0; e < E; e++) {
          dq[row * E + e] += ds * k[key * E + e];
          dk[key * E + e] += ds * q[row * E + e];
        }
      }
    }
  }
}
