/**
 * t-SNE (van der Maaten & Hinton 2008) of codes, exact over all pairs for small N and
 * Barnes-Hut (van der Maaten 2014: sparse neighbour affinities, quadtree repulsion) for large
 * N, with scikit-learn's schedule: early exaggeration 12 for 250 iterations at momentum 0.5,
 * then momentum 0.8; per-coordinate gains; learning rate 'auto' = max(N / 12 / 4, 50); PCA
 * initialisation scaled to a standard deviation of 1e-4.
 */
import type { Generator } from '../../random.js';
import { defaultGenerator } from '../../random.js';
import { Tensor } from '../../tensor.js';
import { VizError } from '../errors.js';
import { denseAffinities, neighbourAffinities, type SparseAffinities } from './affinities.js';
import { codeMatrix, type CodeMatrix } from './codes.js';
import { pca } from './pca.js';
import { QuadTree, type Repulsion } from './quadtree.js';

/** Options of tsne (defaults as scikit-learn 1.2's TSNE). */
export interface TsneOptions {
  /** Embedding dimensions: 2 (any for the exact method). Default 2. */
  dims?: number;
  /** Effective number of neighbours, 1 ≤ perplexity < N. Default 30. */
  perplexity?: number;
  /** Total gradient steps, exaggeration phase included (≥ 250). Default 1000. */
  iterations?: number;
  /** Step size, or 'auto' = max(N / earlyExaggeration / 4, 50). Default 'auto'. */
  learningRate?: number | 'auto';
  /** Factor on P during the first 250 iterations. Default 12. */
  earlyExaggeration?: number;
  /** Barnes-Hut angle: a cell seen under a smaller side/distance ratio counts as one point. Default 0.5. */
  theta?: number;
  /** 'exact' (all pairs, O(N²) per step), 'barnes-hut' (2-d only) or 'auto' (exact up to 250 codes). Default 'auto'. */
  method?: 'auto' | 'exact' | 'barnes-hut';
  /** 'pca' (deterministic) or 'random' (normal, std 1e-4, from generator). Default 'pca'. */
  init?: 'pca' | 'random';
  /** Random source of init 'random'. Default the global generator. */
  generator?: Generator;
  /** Stop when the gradient's norm falls below this. Default 1e-7. */
  minGradNorm?: number;
  /** Stop when KL has not improved for this many iterations (checked every 50). Default 300. */
  iterationsWithoutProgress?: number;
}

/** What tsne returns. */
export interface TsneResult {
  /** (N, dims) float32. */
  embedding: Tensor;
  /** KL(P‖Q) of the final embedding (Barnes-Hut: over the neighbour pairs, Q's normaliser from the tree). */
  kl: number;
  /** KL every 50 iterations and at the end (against the true P, also during exaggeration). */
  klHistory: { iteration: number; kl: number }[];
  /** Gradient steps taken. */
  iterations: number;
  method: 'exact' | 'barnes-hut';
}

/** The objective at the current embedding: its gradient into grad, and KL when asked. */
type Objective = (y: Float64Array, grad: Float64Array, exaggeration: number, withKl: boolean) => number;

const klTerm = (p: number, q: number): number => p * Math.log(Math.max(p, Number.EPSILON) / Math.max(q, Number.EPSILON));

/** Exact gradient 4 Σ_j (e·p_ij − q_ij) w_ij (y_i − y_j), w = 1 / (1 + |y_i − y_j|²), over all pairs. */
function exactObjective(p: Float64Array, n: number, dims: number): Objective {
  const w = new Float64Array(n * n);
  return (y, grad, exaggeration, withKl) => {
    let z = 0;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        let d2 = 0;
        for (let c = 0; c < dims; c++) d2 += (y[i * dims + c] - y[j * dims + c]) ** 2;
        w[i * n + j] = w[j * n + i] = 1 / (1 + d2);
        z += 2 * w[i * n + j];
      }
    }
    grad.fill(0);
    let kl = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        const wij = w[i * n + j];
        const coefficient = 4 * (exaggeration * p[i * n + j] - wij / z) * wij;
        for (let c = 0; c < dims; c++) grad[i * dims + c] += coefficient * (y[i * dims + c] - y[j * dims + c]);
        if (withKl) kl += klTerm(p[i * n + j], wij / z);
      }
    }
    return kl;
  };
}

/** Row i's share of KL(P‖Q) over its neighbour pairs, q_ij = w_ij / z. */
function attractionKl(p: SparseAffinities, y: Float64Array, i: number, z: number): number {
  let kl = 0;
  for (let e = p.indptr[i]; e < p.indptr[i + 1]; e++) {
    const j = p.indices[e];
    kl += klTerm(p.values[e], 1 / (1 + (y[2 * i] - y[2 * j]) ** 2 + (y[2 * i + 1] - y[2 * j + 1]) ** 2) / z);
  }
  return kl;
}

/** Barnes-Hut gradient 4 (Σ_j e·p_ij w_ij (y_i − y_j) − Σ_j w_ij² (y_i − y_j) / Z) on 2-d embeddings. */
function barnesHutObjective(p: SparseAffinities, n: number, theta: number): Objective {
  const tree = new QuadTree();
  const repulsion = new Float64Array(2 * n);
  const force: Repulsion = { fx: 0, fy: 0, z: 0 };
  return (y, grad, exaggeration, withKl) => {
    tree.build(y);
    let z = 0;
    for (let i = 0; i < n; i++) {
      tree.repulsion(y[2 * i], y[2 * i + 1], theta, force);
      repulsion[2 * i] = force.fx;
      repulsion[2 * i + 1] = force.fy;
      z += force.z;
    }
    let kl = 0;
    const { indptr, indices, values } = p;
    for (let i = 0; i < n; i++) {
      const [yx, yy] = [y[2 * i], y[2 * i + 1]];
      let ax = 0;
      let ay = 0;
      for (let e = indptr[i], end = indptr[i + 1]; e < end; e++) {
        const j = indices[e];
        const dx = yx - y[2 * j];
        const dy = yy - y[2 * j + 1];
        const pw = values[e] / (1 + dx * dx + dy * dy);
        ax += pw * dx;
        ay += pw * dy;
      }
      if (withKl) kl += attractionKl(p, y, i, z);
      grad[2 * i] = 4 * (exaggeration * ax - repulsion[2 * i] / z);
      grad[2 * i + 1] = 4 * (exaggeration * ay - repulsion[2 * i + 1] / z);
    }
    return kl;
  };
}

/** Checked options with defaults. */
interface Plan {
  dims: number;
  perplexity: number;
  iterations: number;
  learningRate: number;
  exaggeration: number;
  theta: number;
  method: 'exact' | 'barnes-hut';
  minGradNorm: number;
  patience: number;
}

function plan(n: number, options: TsneOptions): Plan {
  const fail = (what: string): never => {
    throw new VizError(`tsne: ${what}`);
  };
  const dims = options.dims ?? 2;
  const perplexity = options.perplexity ?? 30;
  const iterations = options.iterations ?? 1000;
  const exaggeration = options.earlyExaggeration ?? 12;
  const learningRate = options.learningRate ?? 'auto';
  const theta = options.theta ?? 0.5;
  const requested = options.method ?? 'auto';
  if (!Number.isInteger(dims) || dims < 1) fail(`dims must be an integer ≥ 1, got ${dims}`);
  if (!(perplexity >= 1 && perplexity < n)) fail(`perplexity must be in [1, N) = [1, ${n}) for ${n} codes, got ${perplexity}`);
  if (!Number.isInteger(iterations) || iterations < 250) fail(`iterations must be an integer ≥ 250 (the exaggeration phase), got ${iterations}`);
  if (!(exaggeration >= 1)) fail(`earlyExaggeration must be ≥ 1, got ${exaggeration}`);
  if (learningRate !== 'auto' && !(learningRate > 0)) fail(`learningRate must be > 0 or 'auto', got ${String(learningRate)}`);
  if (!(theta >= 0 && theta <= 1)) fail(`theta must be in [0, 1], got ${theta}`);
  if (!['auto', 'exact', 'barnes-hut'].includes(requested)) fail(`method must be 'auto', 'exact' or 'barnes-hut', got '${String(requested)}'`);
  const method = requested === 'auto' ? (n <= 250 || dims !== 2 ? 'exact' : 'barnes-hut') : requested;
  if (method === 'barnes-hut' && dims !== 2) fail(`the Barnes-Hut method embeds in 2 dims only, got dims ${dims}; use method 'exact'`);
  return {
    dims,
    perplexity,
    iterations,
    learningRate: learningRate === 'auto' ? Math.max(n / exaggeration / 4, 50) : learningRate,
    exaggeration,
    theta,
    method,
    minGradNorm: options.minGradNorm ?? 1e-7,
    patience: options.iterationsWithoutProgress ?? 300,
  };
}

/** The starting embedding: PCA scaled so its first coordinate has std 1e-4, or small normal noise. */
function initialEmbedding(codes: Tensor, m: CodeMatrix, dims: number, options: TsneOptions): Float64Array {
  const init = options.init ?? 'pca';
  if (init === 'random') {
    const generator = options.generator ?? defaultGenerator;
    return Float64Array.from({ length: m.rows * dims }, () => 1e-4 * generator.normal());
  }
  if (init !== 'pca') throw new VizError(`tsne: init must be 'pca' or 'random', got '${String(init)}'`);
  if (dims > m.cols) throw new VizError(`tsne: init 'pca' needs dims ≤ the codes' ${m.cols} features, got dims ${dims}; use init 'random'`);
  const y = Float64Array.from(pca(codes, { components: dims }).projected.data as Float64Array);
  let [mean, square] = [0, 0];
  for (let i = 0; i < m.rows; i++) mean += y[i * dims] / m.rows;
  for (let i = 0; i < m.rows; i++) square += (y[i * dims] - mean) ** 2 / m.rows;
  const scale = square > 0 ? 1e-4 / Math.sqrt(square) : 1;
  return y.map((v) => v * scale);
}

/**
 * Gradient descent with momentum and per-coordinate gains (+0.2 when the step keeps its
 * direction, ×0.8 when it turns, at least 0.01), in two stages: exaggerated P at momentum 0.5
 * for 250 iterations, then the true P at momentum 0.8.
 */
function optimise(objective: Objective, y: Float64Array, p: Plan, klHistory: { iteration: number; kl: number }[]): number {
  const grad = new Float64Array(y.length);
  const update = new Float64Array(y.length);
  const gains = new Float64Array(y.length).fill(1);
  let [best, bestIteration] = [Infinity, 0];
  for (let it = 0; it < p.iterations; it++) {
    const exploring = it < 250;
    const check = (it + 1) % 50 === 0 || it === p.iterations - 1;
    const kl = objective(y, grad, exploring ? p.exaggeration : 1, check);
    let norm = 0;
    const momentum = exploring ? 0.5 : 0.8;
    for (let c = 0; c < y.length; c++) {
      gains[c] = update[c] * grad[c] < 0 ? gains[c] + 0.2 : Math.max(gains[c] * 0.8, 0.01);
      update[c] = momentum * update[c] - p.learningRate * gains[c] * grad[c];
      y[c] += update[c];
      norm += grad[c] * grad[c];
    }
    if (check) klHistory.push({ iteration: it + 1, kl });
    if (Math.sqrt(norm) < p.minGradNorm) return it + 1;
    if (check && !exploring) {
      if (kl < best) [best, bestIteration] = [kl, it];
      else if (it - bestIteration > p.patience) return it + 1;
    }
    if (it === 249) [best, bestIteration] = [Infinity, it]; // progress is judged within each stage
  }
  return p.iterations;
}

/**
 * t-SNE embedding of codes (e.g. a layer's activations): near codes stay near, classes
 * separate into clusters. Seeded through options.generator when init is 'random' (the
 * default PCA initialisation is deterministic).
 *
 * Args: codes (N, D) float (or (N, ...), flattened; N ≥ 3), options (dims, perplexity,
 * iterations, learningRate, earlyExaggeration, theta, method, init, generator, minGradNorm,
 * iterationsWithoutProgress; scikit-learn's defaults).
 * Shape: embedding (N, dims).
 *
 * Example:
 * ```ts
 * const codes = viz.activations(net.eval(), x, ['10']).activations.get('10')!; // (N, 84)
 * const { embedding, kl } = viz.tsne(codes, { perplexity: 30 });
 * viz.scatterPlot('out/tsne', embedding, { labels: y, classNames });
 * ```
 */
export function tsne(codes: Tensor, options: TsneOptions = {}): TsneResult {
  const m = codeMatrix(codes, 'tsne', 3);
  const p = plan(m.rows, options);
  const y = initialEmbedding(codes, m, p.dims, options);
  const objective =
    p.method === 'exact'
      ? exactObjective(denseAffinities(m, p.perplexity), m.rows, p.dims)
      : barnesHutObjective(neighbourAffinities(m, p.perplexity, Math.min(m.rows - 1, Math.floor(3 * p.perplexity + 1))), m.rows, p.theta);
  const klHistory: { iteration: number; kl: number }[] = [];
  const iterations = optimise(objective, y, p, klHistory);
  const kl = objective(y, new Float64Array(y.length), 1, true);
  if (klHistory.at(-1)?.iteration !== iterations) klHistory.push({ iteration: iterations, kl });
  return { embedding: new Tensor(Float32Array.from(y), [m.rows, p.dims], 'float32'), kl, klHistory, iterations, method: p.method };
}
