/**
 * PCA of codes (a layer's activations, one row per sample): the quick linear alternative to
 * t-SNE. Covariance in float64, eigenvectors by Jacobi rotations, so the components are exact
 * to rounding (scikit-learn's PCA with the full SVD gives the same up to each component's sign).
 */
import { Tensor } from '../../tensor.js';
import { VizError } from '../errors.js';
import { codeMatrix, type CodeMatrix } from './codes.js';
import { symmetricEigen } from './eigen.js';

/** Options of pca. */
export interface PcaOptions {
  /** Components kept, 1 ≤ k ≤ D. Default 2. */
  components?: number;
}

/** What pca returns (float64 tensors). */
export interface PcaResult {
  /** The codes in the components' coordinates, (N, k). */
  projected: Tensor;
  /** Unit principal axes, (k, D), by decreasing variance; each axis's largest-magnitude entry is positive. */
  components: Tensor;
  /** The codes' mean, (D). */
  mean: Tensor;
  /** Variance along each component (divided by N − 1, as scikit-learn's explained_variance_). */
  explainedVariance: number[];
  /** Each component's share of the total variance. */
  explainedVarianceRatio: number[];
}

/** Column means of the codes, and the (D, D) covariance of the centred codes (divided by N − 1). */
function covariance(m: CodeMatrix): { mean: Float64Array; cov: Float64Array } {
  const { rows: n, cols: d, values } = m;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += values[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = values[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ra = row[a];
      for (let b = a; b < d; b++) cov[a * d + b] += ra * row[b];
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      cov[a * d + b] /= n - 1;
      cov[b * d + a] = cov[a * d + b];
    }
  }
  return { mean, cov };
}

/** Flips each column of the (D, D) eigenvector matrix so its largest-magnitude entry is positive. */
function normaliseSigns(vectors: Float64Array, d: number): void {
  for (let c = 0; c < d; c++) {
    let best = 0;
    for (let k = 1; k < d; k++) if (Math.abs(vectors[k * d + c]) > Math.abs(vectors[best * d + c])) best = k;
    if (vectors[best * d + c] < 0) for (let k = 0; k < d; k++) vectors[k * d + c] = -vectors[k * d + c];
  }
}

/**
 * Principal component analysis of N codes: centres them, finds the k directions of largest
 * variance and projects onto them.
 *
 * Args: codes (N, D) float (or (N, ...), flattened; N ≥ 2), options.components (default 2).
 * Shape: projected (N, k), components (k, D), mean (D).
 *
 * Example:
 * ```ts
 * const codes = viz.activations(net, x, ['10']).activations.get('10')!; // (N, 84) LeNet codes
 * const { projected, explainedVarianceRatio } = viz.pca(codes, { components: 2 });
 * viz.scatterPlot('out/pca', projected, { labels: y }); // out/pca.svg + out/pca.png
 * ```
 */
export function pca(codes: Tensor, options: PcaOptions = {}): PcaResult {
  const m = codeMatrix(codes, 'pca', 2);
  const { rows: n, cols: d, values } = m;
  const k = options.components ?? 2;
  if (!Number.isInteger(k) || k < 1 || k > d) throw new VizError(`pca: components must be an integer in [1, ${d}] for codes with ${d} features, got ${k}`);
  const { mean, cov } = covariance(m);
  const eigen = symmetricEigen(cov, d);
  normaliseSigns(eigen.vectors, d);
  const components = new Float64Array(k * d);
  for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) components[c * d + j] = eigen.vectors[j * d + c];
  const projected = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += (values[i * d + j] - mean[j]) * components[c * d + j];
      projected[i * k + c] = dot;
    }
  }
  const variances = Array.from(eigen.values, (v) => Math.max(v, 0));
  const total = variances.reduce((a, b) => a + b, 0);
  const explainedVariance = variances.slice(0, k);
  return {
    projected: new Tensor(projected, [n, k], 'float64'),
    components: new Tensor(components, [k, d], 'float64'),
    mean: new Tensor(mean, [d], 'float64'),
    explainedVariance,
    explainedVarianceRatio: explainedVariance.map((v) => (total > 0 ? v / total : 0)),
  };
}
