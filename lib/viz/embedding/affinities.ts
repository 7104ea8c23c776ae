/**
 * t-SNE's input similarities: for each code a Gaussian over the others whose bandwidth gives
 * the requested perplexity (binary search on its precision), made symmetric and summing to 1.
 * Dense over all pairs for the exact method; over each code's 3·perplexity nearest
 * neighbours (found with one matrix product per block of rows) for Barnes-Hut.
 */
import { matmulTransposed } from '../../ops/matmul.js';
import { Tensor } from '../../tensor.js';
import type { CodeMatrix } from './codes.js';

/** A symmetric joint distribution over pairs in CSR form (row i's entries are indices[indptr[i] .. indptr[i+1])). */
export interface SparseAffinities {
  indptr: Int32Array;
  indices: Int32Array;
  values: Float64Array;
}

/**
 * Writes p_{j|i} ∝ exp(−β·d_j) into out, with β found by bisection so that the distribution's
 * entropy is log(perplexity) (within 1e-5 nats, at most 100 steps). d: squared distances.
 */
export function conditionalRow(d: Float64Array, out: Float64Array, perplexity: number): void {
  const target = Math.log(perplexity);
  let min = Infinity;
  for (const v of d) min = Math.min(min, v);
  let beta = 1;
  let [lo, hi] = [0, Infinity];
  for (let step = 0; step < 100; step++) {
    let sum = 0;
    let weighted = 0;
    for (let j = 0; j < d.length; j++) {
      const shifted = d[j] - min; // shift-invariant: keeps exp from underflowing
      out[j] = Math.exp(-beta * shifted);
      sum += out[j];
      weighted += shifted * out[j];
    }
    const entropy = Math.log(sum) + (beta * weighted) / sum;
    for (let j = 0; j < d.length; j++) out[j] /= sum;
    const diff = entropy - target;
    if (Math.abs(diff) <= 1e-5) return;
    if (diff > 0) {
      lo = beta;
      beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
    } else {
      hi = beta;
      beta = (beta + lo) / 2;
    }
  }
}

/** Squared Euclidean distance of rows i and j, in float64. */
function squaredDistance(m: CodeMatrix, i: number, j: number): number {
  const { cols: d, values } = m;
  let sum = 0;
  for (let c = 0; c < d; c++) {
    const diff = values[i * d + c] - values[j * d + c];
    sum += diff * diff;
  }
  return sum;
}

/** The joint P over all pairs: (P_cond + P_condᵀ) / Σ, floored at machine epsilon, diagonal 0. (N, N) row-major. */
export function denseAffinities(m: CodeMatrix, perplexity: number): Float64Array {
  const n = m.rows;
  const conditional = new Float64Array(n * n);
  const d = new Float64Array(n - 1);
  const p = new Float64Array(n - 1);
  for (let i = 0; i < n; i++) {
    for (let j = 0, c = 0; j < n; j++) if (j !== i) d[c++] = squaredDistance(m, i, j);
    conditionalRow(d, p, perplexity);
    for (let j = 0, c = 0; j < n; j++) if (j !== i) conditional[i * n + j] = p[c++];
  }
  const joint = new Float64Array(n * n);
  let total = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) total += conditional[i * n + j] + conditional[j * n + i];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) joint[i * n + j] = Math.max((conditional[i * n + j] + conditional[j * n + i]) / total, Number.EPSILON);
  return joint;
}

/** Each row's k nearest other rows (by squared Euclidean distance), as an (N, k) index matrix. */
export function nearestNeighbours(m: CodeMatrix, k: number): Int32Array {
  const { rows: n, cols: d } = m;
  const x = new Tensor(Float32Array.from(m.values), [n, d], 'float32');
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) norms[i] = squaredDistanceToOrigin(m, i);
  const result = new Int32Array(n * k);
  const heapDist = new Float64Array(k);
  const heapIndex = new Int32Array(k);
  const block = 256;
  for (let start = 0; start < n; start += block) {
    const rows = Math.min(block, n - start);
    const dots = matmulTransposed(x.narrow(0, start, rows), x).data as Float32Array; // (rows, N)
    for (let r = 0; r < rows; r++) {
      const i = start + r;
      let size = 0;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const dist = norms[i] + norms[j] - 2 * dots[r * n + j];
        if (size < k) size = heapPush(heapDist, heapIndex, size, dist, j);
        else if (dist < heapDist[0]) heapReplaceTop(heapDist, heapIndex, size, dist, j);
      }
      result.set(heapIndex.subarray(0, k), i * k);
    }
  }
  return result;
}

function squaredDistanceToOrigin(m: CodeMatrix, i: number): number {
  let sum = 0;
  for (let c = 0; c < m.cols; c++) sum += m.values[i * m.cols + c] ** 2;
  return sum;
}

/** Adds (dist, index) to a max-heap of `size` entries; returns the new size. */
function heapPush(dist: Float64Array, index: Int32Array, size: number, value: number, j: number): number {
  let at = size;
  while (at > 0) {
    const parent = (at - 1) >> 1;
    if (dist[parent] >= value) break;
    dist[at] = dist[parent];
    index[at] = index[parent];
    at = parent;
  }
  dist[at] = value;
  index[at] = j;
  return size + 1;
}

/** Replaces the largest entry of a full max-heap by (value, j). */
function heapReplaceTop(dist: Float64Array, index: Int32Array, size: number, value: number, j: number): void {
  let at = 0;
  for (;;) {
    const left = 2 * at + 1;
    if (left >= size) break;
    const child = left + 1 < size && dist[left + 1] > dist[left] ? left + 1 : left;
    if (dist[child] <= value) break;
    dist[at] = dist[child];
    index[at] = index[child];
    at = child;
  }
  dist[at] = value;
  index[at] = j;
}

/** The joint P over each code's k nearest neighbours: conditional rows, symmetrised, normalised to sum 1. */
export function neighbourAffinities(m: CodeMatrix, perplexity: number, k: number): SparseAffinities {
  const n = m.rows;
  const neighbours = nearestNeighbours(m, k);
  const conditional = new Float64Array(n * k);
  const d = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) d[c] = squaredDistance(m, i, neighbours[i * k + c]);
    conditionalRow(d, conditional.subarray(i * k, (i + 1) * k), perplexity);
  }
  return symmetrise(n, k, neighbours, conditional);
}

/** CSR of P + Pᵀ / Σ from the (N, k) conditional rows; entries of one row sorted by column, duplicates merged. */
function symmetrise(n: number, k: number, neighbours: Int32Array, conditional: Float64Array): SparseAffinities {
  const counts = new Int32Array(n + 1);
  for (let e = 0; e < n * k; e++) {
    counts[Math.floor(e / k) + 1]++;
    counts[neighbours[e] + 1]++;
  }
  for (let i = 0; i < n; i++) counts[i + 1] += counts[i];
  const fill = counts.slice(0, n);
  const cols = new Int32Array(2 * n * k);
  const vals = new Float64Array(2 * n * k);
  for (let e = 0; e < n * k; e++) {
    const [i, j] = [Math.floor(e / k), neighbours[e]];
    cols[fill[i]] = j;
    vals[fill[i]++] = conditional[e];
    cols[fill[j]] = i;
    vals[fill[j]++] = conditional[e];
  }
  const indptr = new Int32Array(n + 1);
  const indices: number[] = [];
  const values: number[] = [];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const order = Array.from({ length: counts[i + 1] - counts[i] }, (_, t) => counts[i] + t).sort((a, b) => cols[a] - cols[b]);
    for (const e of order) {
      if (indices.length > indptr[i] && indices[indices.length - 1] === cols[e]) values[values.length - 1] += vals[e];
      else {
        indices.push(cols[e]);
        values.push(vals[e]);
      }
      total += vals[e];
    }
    indptr[i + 1] = indices.length;
  }
  return { indptr, indices: Int32Array.from(indices), values: Float64Array.from(values, (v) => v / total) };
}
