/**
 * Norms and distances with PyTorch 1.13's semantics: norm (vector p-norms over dims, with
 * PyTorch's subgradients: 0 where the norm is 0, ties of ±∞-norms sharing the gradient),
 * cdist (with the matmul path for p = 2), cosineSimilarity and pairwiseDistance. Forward and
 * backward are made of ops, so createGraph gives higher-order gradients.
 */
import { ShapeError } from '../errors.js';
import { record } from '../autograd/engine.js';
import { broadcastShapes, formatShape, normalizeDim } from '../shape.js';
import { Tensor } from '../tensor.js';
import { cast, checkTensor, toFloat } from './cast.js';
import { abs, add, clamp, div, eq, mul, ne, pow, sign, sqrt, square, sub, where } from './elementwise.js';
import { matmul } from './matmul.js';
import { amax, amin, type Dims, resolveDims, sum } from './reduce.js';
import { cat, reshape, transpose, unsqueeze } from './shape.js';
import { onesLike, zeros, zerosLike } from './creation.js';
import { promoteTypes } from '../dtype.js';
import { inOpContext } from '../op-context.js';

/** The order of a norm: any number (0, 1, 2, Infinity, −Infinity, 3, 0.5, …) or 'fro' (= 2). */
export type NormOrder = number | 'fro';

/**
 * The vector p-norm of x over `dims` (all when omitted): (Σ|x|ᵖ)^(1/p); p = ∞ is max|x|,
 * −∞ min|x|, 0 the count of non-zeros, 'fro' the 2-norm. Every norm of an empty set is 0 (as torch.norm).
 *
 * Args: x; p (default 'fro'); dims; keepdim (default false).
 *
 * Shape: x's shape without `dims` (size 1 with keepdim).
 *
 * Example: `norm(w, 2, 1)` gives the length of each row of w.
 */
export function norm(x: Tensor, p: NormOrder = 'fro', dims?: Dims, keepdim = false): Tensor {
  checkTensor('norm', x);
  const order = p === 'fro' ? 2 : p;
  if (typeof order !== 'number' || Number.isNaN(order)) {
    throw new RangeError(`norm: p must be a number, Infinity, -Infinity or 'fro', got ${String(p)}`);
  }
  const axes = resolveDims(dims, x.ndim, 'norm');
  const input = toFloat(x);
  if (Math.abs(order) === Infinity && axes.some((a) => x.shape[a] === 0)) {
    const shape = keepdim ? x.shape.map((s, i) => (axes.includes(i) ? 1 : s)) : x.shape.filter((_, i) => !axes.includes(i));
    return record(zeros(shape, { dtype: input.dtype }), 'norm', [input], () => [zerosLike(input)]); // torch.norm: 0
  }
  const y = vectorNorm(input, order, axes);
  return keepdim ? y : reshape(y, x.shape.filter((_, i) => !axes.includes(i)));
}

/** The p-norm over `axes`, keepdim; its backward is PyTorch's norm_backward written with ops. */
function vectorNorm(x: Tensor, p: number, axes: number[]): Tensor {
  const y = normValue(x.detach(), p, axes);
  if (p === 0) return record(y, 'norm', [x], () => [null]); // a count: no gradient reaches x, as in PyTorch
  return record(y, 'norm', [x], (g) => [normGrad(x, p, axes, g)]);
}

function normValue(x: Tensor, p: number, axes: number[]): Tensor {
  if (p === 2) return sqrt(sum(square(x), axes, true));
  if (p === 1) return sum(abs(x), axes, true);
  if (p === Infinity) return amax(abs(x), axes, true);
  if (p === -Infinity) return amin(abs(x), axes, true);
  if (p === 0) return sum(cast(ne(x, 0), x.dtype), axes, true);
  return pow(sum(pow(abs(x), p), axes, true), 1 / p);
}

/**
 * d‖x‖/dx · g, 0 where the norm is 0 and (for p < 1, where |x|^(p−1) is infinite) where x is 0;
 * ±∞ norms split g evenly among the tied extremes.
 */
function normGrad(x: Tensor, p: number, axes: number[], g: Tensor): Tensor {
  if (p === 1) return mul(sign(x), g);
  const y = vectorNorm(x, p, axes);
  if (Math.abs(p) === Infinity) {
    const mask = cast(eq(abs(x), y), x.dtype);
    return mul(mul(sign(x), mask), div(g, sum(mask, axes, true)));
  }
  const zero = eq(y, 0);
  const safe = where(zero, 1, y);
  if (p === 2) return mul(x, where(zero, 0, div(g, safe)));
  const atZero = eq(x, 0);
  const scaled = where(atZero, 0, pow(where(atZero, 1, abs(x)), p - 1));
  return mul(mul(sign(x), scaled), where(zero, 0, div(g, pow(safe, p - 1))));
}

/** How cdist computes p = 2 distances (PyTorch's compute_mode). */
export type CdistComputeMode = 'use_mm_for_euclid_dist_if_necessary' | 'use_mm_for_euclid_dist' | 'donot_use_mm_for_euclid_dist';

/**
 * p-norm distance between each row of x1 and each row of x2, batched.
 *
 * Args: x1 (…, P, M); x2 (…, R, M) (batch dims broadcast); p ≥ 0 (default 2); computeMode:
 * for p = 2, 'use_mm_for_euclid_dist_if_necessary' (default) uses ‖a‖² + ‖b‖² − 2a·b through a
 * matmul when P > 25 or R > 25, as PyTorch does.
 *
 * Shape: (…, P, M), (…, R, M) → (…, P, R).
 *
 * Example: `cdist(queries, keys)` gives every query-to-key Euclidean distance.
 */
export function cdist(x1: Tensor, x2: Tensor, p = 2, computeMode: CdistComputeMode = 'use_mm_for_euclid_dist_if_necessary'): Tensor {
  return inOpContext('cdist', () => {
    checkTensor('cdist', x1);
    checkTensor('cdist', x2);
    if (x1.ndim < 2 || x2.ndim < 2 || x1.shape[x1.ndim - 1] !== x2.shape[x2.ndim - 1]) {
      throw new ShapeError(`cdist: expected x1 (…, P, M) and x2 (…, R, M) with the same M, got ${formatShape(x1.shape)} and ${formatShape(x2.shape)}`);
    }
    if (!(p >= 0)) throw new RangeError(`cdist: p must be a non-negative number, got ${p}`);
    broadcastShapes(x1.shape.slice(0, -2), x2.shape.slice(0, -2), 'cdist');
    const dtype = promoteTypes(toFloat(x1).dtype, toFloat(x2).dtype);
    const a = cast(toFloat(x1), dtype);
    const b = cast(toFloat(x2), dtype);
    const [rowsA, rowsB] = [x1.shape[x1.ndim - 2], x2.shape[x2.ndim - 2]];
    const useMm = computeMode === 'use_mm_for_euclid_dist' || (computeMode === 'use_mm_for_euclid_dist_if_necessary' && (rowsA > 25 || rowsB > 25));
    if (p === 2 && useMm) return euclideanByMatmul(a, b);
    const diff = sub(unsqueeze(a, -2), unsqueeze(b, -3)); // (…, P, R, M)
    if (p === 0) return record(norm(diff.detach(), 0, -1), 'cdist', [a, b], () => [zerosLike(a), zerosLike(b)]); // PyTorch: zero gradients
    return norm(diff, p, -1);
  });
}

/** PyTorch's _euclidean_dist: √max(‖a‖² + ‖b‖² − 2a·b, 1e-30), one matmul. */
function euclideanByMatmul(a: Tensor, b: Tensor): Tensor {
  const aNorm = sum(square(a), -1, true);
  const bNorm = sum(square(b), -1, true);
  const aAug = cat([mul(a, -2), aNorm, onesLike(aNorm)], -1);
  const bAug = cat([b, onesLike(bNorm), bNorm], -1);
  return sqrt(clamp(matmul(aAug, transpose(bAug, -1, -2)), 1e-30));
}

/**
 * Cosine of the angle between x1 and x2 along `dim`, PyTorch 1.13's formula:
 * Σx1·x2 / √(max(Σx1², eps²) · max(Σx2², eps²)) (the clamps do not change the gradient).
 *
 * Args: x1, x2 (broadcasting); dim (default 1); eps (default 1e-8).
 *
 * Shape: the broadcast shape without `dim`.
 *
 * Example: `cosineSimilarity(a, b, 1)` of two (N, D) embeddings gives (N).
 */
export function cosineSimilarity(x1: Tensor, x2: Tensor, dim = 1, eps = 1e-8): Tensor {
  return inOpContext('cosineSimilarity', () => {
    checkTensor('cosineSimilarity', x1);
    checkTensor('cosineSimilarity', x2);
    const shape = broadcastShapes(x1.shape, x2.shape, 'cosineSimilarity');
    const d = normalizeDim(dim, shape.length, 'cosineSimilarity');
    const a = toFloat(x1);
    const b = toFloat(x2);
    const dot = sum(mul(a, b), d);
    const floor = eps * eps;
    const clampedSquares = (x: Tensor): Tensor => {
      const s = sum(square(x), d);
      const lifted = sub(clamp(s.detach(), floor), s.detach()); // what clamp_min_ under no_grad adds
      return add(s, lifted);
    };
    return div(dot, sqrt(mul(clampedSquares(a), clampedSquares(b))));
  });
}

/**
 * The p-norm of x1 − x2 + eps along the last dim (PyTorch's pairwise_distance).
 *
 * Args: x1, x2 (broadcasting); p (default 2); eps (default 1e-6); keepdim (default false).
 *
 * Shape: (N, D), (N, D) → (N).
 *
 * Example: `pairwiseDistance(anchor, positive)` in a triplet loss.
 */
export function pairwiseDistance(x1: Tensor, x2: Tensor, p = 2, eps = 1e-6, keepdim = false): Tensor {
  return inOpContext('pairwiseDistance', () => {
    checkTensor('pairwiseDistance', x1);
    checkTensor('pairwiseDistance', x2);
    const shape = broadcastShapes(x1.shape, x2.shape, 'pairwiseDistance');
    if (shape.length === 0) throw new ShapeError(`pairwiseDistance: expected inputs with at least 1 dim, got ${formatShape(x1.shape)} and ${formatShape(x2.shape)}`);
    return norm(add(sub(toFloat(x1), toFloat(x2)), eps), p, -1, keepdim);
  });
}
