/**
 * Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations, in float64:
 * accurate to rounding for any spectrum (PCA of D ≤ a few hundred features).
 */

/** Eigenvalues (descending) and unit eigenvectors (columns of a row-major (D, D) matrix, same order). */
export interface SymmetricEigen {
  values: Float64Array;
  vectors: Float64Array;
}

/** Rotates rows/columns p and q of a (D, D) and columns p and q of v by the angle that zeroes a[p, q]. */
function rotate(a: Float64Array, v: Float64Array, d: number, p: number, q: number): void {
  const apq = a[p * d + q];
  const theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
  const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
  const c = 1 / Math.sqrt(t * t + 1);
  const s = t * c;
  for (let k = 0; k < d; k++) {
    // columns: A ← A·J
    const akp = a[k * d + p];
    const akq = a[k * d + q];
    a[k * d + p] = c * akp - s * akq;
    a[k * d + q] = s * akp + c * akq;
    const vkp = v[k * d + p];
    const vkq = v[k * d + q];
    v[k * d + p] = c * vkp - s * vkq;
    v[k * d + q] = s * vkp + c * vkq;
  }
  for (let k = 0; k < d; k++) {
    // rows: A ← Jᵀ·A
    const apk = a[p * d + k];
    const aqk = a[q * d + k];
    a[p * d + k] = c * apk - s * aqk;
    a[q * d + k] = s * apk + c * aqk;
  }
  a[p * d + q] = 0;
  a[q * d + p] = 0;
}

/** Σ of the squared off-diagonal entries. */
function offDiagonal(a: Float64Array, d: number): number {
  let sum = 0;
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) if (i !== j) sum += a[i * d + j] * a[i * d + j];
  return sum;
}

/**
 * The eigen-decomposition of a symmetric (D, D) matrix (row-major, not modified): sweeps of
 * rotations over every off-diagonal pair until the off-diagonal mass is below 1e-30 of the
 * total (at most 100 sweeps).
 */
export function symmetricEigen(matrix: Float64Array, d: number): SymmetricEigen {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  let total = 0;
  for (const x of a) total += x * x;
  for (let sweep = 0; sweep < 100 && offDiagonal(a, d) > 1e-30 * total; sweep++) {
    for (let p = 0; p < d - 1; p++) for (let q = p + 1; q < d; q++) if (a[p * d + q] !== 0) rotate(a, v, d, p, q);
  }
  const order = Array.from({ length: d }, (_, i) => i).sort((i, j) => a[j * d + j] - a[i * d + i]);
  const values = Float64Array.from(order, (i) => a[i * d + i]);
  const vectors = new Float64Array(d * d);
  order.forEach((from, to) => {
    for (let k = 0; k < d; k++) vectors[k * d + to] = v[k * d + from];
  });
  return { values, vectors };
}
