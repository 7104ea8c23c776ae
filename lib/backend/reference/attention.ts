/**
 * Fused attention on the reference backend: plain loops, one query row at a time, in the
 * precision of JavaScript numbers (float64) whatever the arrays' dtype. Same contract as the
 * native kernel (see Backend.attentionForward): only out (…, L, Ev) and lse (…, L) are stored,
 * the backward recomputes each row's probabilities from q, k and lse, and the dropout mask from
 * its seed with the same counter-based hash as the native kernel (counter-hash.ts), bit for bit.
 */
import type { FloatArray } from '../../dtype.js';
import { AttentionMaskKind, type AttentionGeometry, type AttentionLayout } from '../backend.js';
import { counterKeeps, counterRowKey } from './counter-hash.js';

/**
 * The dropout factor of weight (row = b·L + i, key j): 1/(1 − p) when the counter hash keeps
 * it, else 0; 1 without dropout. See AttentionGeometry.
 */
function dropoutFactor(g: AttentionGeometry, row: number, j: number): number {
  if (g.dropoutThreshold === 0) return 1;
  const p = g.dropoutThreshold / 2 ** 24;
  return counterKeeps(counterRowKey(g.dropoutSeedHigh, row), g.dropoutSeedLow, j, g.dropoutThreshold) && p < 1 ? 1 / (1 - p) : 0;
}

/** Index of element (row, 0) of slice b in an operand of layout l. */
function rowStart(l: AttentionLayout, g: AttentionGeometry, b: number, row: number): number {
  return Math.floor(b / g.heads) * l.batchStride + (b % g.heads) * l.headStride + row * l.rowStride;
}

/** Row i of slice b's masked, scaled scores into `scores` (S): −∞ for excluded keys. */
function rowScores(q: FloatArray, k: FloatArray, g: AttentionGeometry, b: number, i: number, scores: Float64Array): void {
  const { S, E } = g;
  const qRow = rowStart(g.qLayout, g, b, i);
  for (let j = 0; j < S; j++) {
    const kRow = rowStart(g.kLayout, g, b, j);
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

/** dropout(softmax(q·kᵀ·scale + mask))·v and the row log-sum-exps; see Backend.attentionForward. */
export function attentionForward(q: FloatArray, k: FloatArray, v: FloatArray, out: FloatArray, lse: FloatArray, g: AttentionGeometry): void {
  const { batch, L, S, Ev } = g;
  const scores = new Float64Array(S);
  const p = new Float64Array(S);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < L; i++) {
      rowScores(q, k, g, b, i, scores);
      const rowLse = logSumExp(scores);
      probabilities(scores, rowLse, p);
      for (let j = 0; j < S; j++) p[j] *= dropoutFactor(g, b * L + i, j);
      lse[b * L + i] = rowLse;
      const outRow = rowStart(g.outLayout, g, b, i);
      for (let c = 0; c < Ev; c++) {
        let sum = 0;
        for (let j = 0; j < S; j++) sum += p[j] * v[rowStart(g.vLayout, g, b, j) + c];
        out[outRow + c] = sum;
      }
    }
  }
}

/** Sets the (rows, cols) block of every slice of x (layout l) to zero. */
function zeroSlices(x: FloatArray, l: AttentionLayout, g: AttentionGeometry, rows: number, cols: number): void {
  for (let b = 0; b < g.batch; b++) {
    for (let r = 0; r < rows; r++) x.fill(0, rowStart(l, g, b, r), rowStart(l, g, b, r) + cols);
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
  zeroSlices(dq, g.qLayout, g, L, E);
  zeroSlices(dk, g.kLayout, g, S, E);
  zeroSlices(dv, g.vLayout, g, S, Ev);
  const scores = new Float64Array(S);
  const p = new Float64Array(S);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < L; i++) {
      rowScores(q, k, g, b, i, scores);
      probabilities(scores, lse[b * L + i], p);
      const outRow = rowStart(g.outLayout, g, b, i);
      const qRow = rowStart(g.qLayout, g, b, i);
      let delta = 0; // D_i = Σ dout_i ∘ out_i
      for (let c = 0; c < Ev; c++) delta += dout[outRow + c] * out[outRow + c];
      for (let j = 0; j < S; j++) {
        const [kRow, vRow] = [rowStart(g.kLayout, g, b, j), rowStart(g.vLayout, g, b, j)];
        const factor = dropoutFactor(g, b * L + i, j);
        let dz = 0; // d loss / d (weight after dropout)
        for (let c = 0; c < Ev; c++) {
          dz += dout[outRow + c] * v[vRow + c];
          dv[vRow + c] += p[j] * factor * dout[outRow + c];
        }
        const ds = p[j] * (dz * factor - delta) * g.scale;
        for (let e = 0; e < E; e++) {
          dq[qRow + e] += ds * k[kRow + e];
          dk[kRow + e] += ds * q[qRow + e];
        }
      }
    }
  }
}
