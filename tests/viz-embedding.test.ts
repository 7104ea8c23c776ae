/**
 * viz.pca against numpy's SVD (tests/fixtures/numpy/gen_pca.py, sign-normalised components);
 * the Jacobi eigensolver against its definition; t-SNE (exact and Barnes-Hut) keeps
 * well-separated clusters apart (trustworthiness, kNN label agreement), lowers its KL, calibrates
 * perplexity, is seeded; the quadtree's repulsion against the all-pairs sum; the scatter plot.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import { Generator, tensor, viz, type Tensor } from '../lib/index.js';
import { conditionalRow } from '../lib/viz/embedding/affinities.js';
import { symmetricEigen } from '../lib/viz/embedding/eigen.js';
import { QuadTree } from '../lib/viz/embedding/quadtree.js';
import { expectClose } from './helpers.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/numpy/pca.json', import.meta.url), 'utf8')) as Record<string, number[]>;
const dir = mkdtempSync(join(tmpdir(), 'kiln-embedding-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `perCluster` points around each of `clusters` centres 10·e_c in `dims` dims (noise std 1). */
function clusters(count: number, perCluster: number, dims: number, seed: number): { codes: Tensor; labels: number[] } {
  const g = new Generator(seed);
  const labels = Array.from({ length: count * perCluster }, (_, i) => i % count);
  const values = labels.flatMap((c) => Array.from({ length: dims }, (_, d) => (d === c ? 10 : 0) + g.normal()));
  return { codes: tensor(values).reshape([labels.length, dims]), labels };
}

/** Rows of (N, d) points. */
const rowsOf = (t: Tensor): number[][] => t.toArray() as number[][];
const dist2 = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0);

/** The indices of every point's others, nearest first. */
function rankings(points: number[][]): number[][] {
  return points.map((p, i) => points.map((_, j) => j).filter((j) => j !== i).sort((a, b) => dist2(p, points[a]) - dist2(p, points[b])));
}

/** scikit-learn's trustworthiness: 1 − 2/(n k (2n − 3k − 1)) Σ_i Σ_{j ∈ embedding kNN \ input kNN} (rank_input(i, j) − k). */
function trustworthiness(input: number[][], embedded: number[][], kk: number): number {
  const n = input.length;
  const inputRanks = rankings(input);
  const embeddedRanks = rankings(embedded);
  let penalty = 0;
  for (let i = 0; i < n; i++) {
    const rank = new Map(inputRanks[i].map((j, r) => [j, r + 1]));
    for (const j of embeddedRanks[i].slice(0, kk)) penalty += Math.max(0, rank.get(j)! - kk);
  }
  return 1 - (2 / (n * kk * (2 * n - 3 * kk - 1))) * penalty;
}

/** The share of each point's k nearest embedded neighbours that carry its label. */
function knnAgreement(embedded: number[][], labels: number[], kk: number): number {
  const ranks = rankings(embedded);
  let same = 0;
  ranks.forEach((r, i) => (same += r.slice(0, kk).filter((j) => labels[j] === labels[i]).length));
  return same / (embedded.length * kk);
}

/** Each row of a (k, D) matrix flipped so its largest-magnitude entry is positive. */
function signNormalised(values: number[], k: number): number[] {
  const d = values.length / k;
  return Array.from({ length: k }, (_, c) => {
    const row = values.slice(c * d, (c + 1) * d);
    const top = row.reduce((b, v, i) => (Math.abs(v) > Math.abs(row[b]) ? i : b), 0);
    return row.map((v) => (row[top] < 0 ? -v : v));
  }).flat();
}

for (const backend of ['reference', 'native'] as k.BackendName[]) {
  describe(`viz.pca on ${backend}`, () => {
    const x = tensor(fixture.x, { dtype: 'float64' }).reshape(fixture.shape);

    it('matches numpy\'s SVD (sign-normalised) for components, variances and projections', () =>
      k.withBackend(backend, () => {
        const r = viz.pca(x, { components: 3 });
        expectClose(signNormalised([...(r.components.data as Float64Array)], 3), fixture.components, 1e-10, 1e-8, 'components');
        expectClose(r.explainedVariance, fixture.explained_variance, 1e-10, 1e-10, 'explained variance');
        expectClose(r.explainedVarianceRatio, fixture.explained_variance_ratio, 1e-12, 1e-10, 'ratio');
        expectClose(r.mean.data, fixture.mean, 1e-12, 1e-12, 'mean');
        expectClose(r.projected.data, fixture.projected, 1e-9, 1e-8, 'projected');
      }));

    it('gives the same for a non-contiguous float32 view of the codes', () =>
      k.withBackend(backend, () => {
        const view = x.t().contiguous().float().t(); // (40, 6) with strides (1, 40)
        expect(view.isContiguous()).toBe(false);
        expectClose(viz.pca(view, { components: 3 }).explainedVariance, fixture.explained_variance, 1e-4, 1e-5, 'float32 view');
      }));
  });
}

describe('viz.pca checks', () => {
  it('names what is wrong', () => {
    expect(() => viz.pca(tensor([1, 2, 3]))).toThrow(/pca: expects float codes \(N, D\).*got float32 of shape \[3\]/);
    expect(() => viz.pca(tensor([[1, 2], [3, 4]]), { components: 3 })).toThrow(/pca: components must be an integer in \[1, 2\] for codes with 2 features, got 3/);
    expect(() => viz.pca(tensor([[1, NaN], [3, 4]]))).toThrow(/pca: code 0 has a non-finite value \(NaN\) at position 1/);
  });

  it('symmetricEigen: A·v = λ·v with orthonormal v, eigenvalues descending', () => {
    const g = new Generator(2);
    const d = 12;
    const b = Array.from({ length: d * d }, () => g.normal());
    const a = new Float64Array(d * d).map((_, i) => b[i] + b[(i % d) * d + Math.floor(i / d)]); // B + Bᵀ
    const { values, vectors } = symmetricEigen(a, d);
    for (let c = 0; c < d; c++) {
      if (c > 0) expect(values[c]).toBeLessThanOrEqual(values[c - 1]);
      for (let r = 0; r < d; r++) {
        let av = 0;
        for (let t = 0; t < d; t++) av += a[r * d + t] * vectors[t * d + c];
        expect(av).toBeCloseTo(values[c] * vectors[r * d + c], 10);
      }
      for (let c2 = 0; c2 < d; c2++) {
        let dot = 0;
        for (let r = 0; r < d; r++) dot += vectors[r * d + c] * vectors[r * d + c2];
        expect(dot).toBeCloseTo(c === c2 ? 1 : 0, 12);
      }
    }
  });
});

describe('viz.tsne', () => {
  it('calibrates each row to the perplexity: exp(entropy) = perplexity', () => {
    const g = new Generator(4);
    const d = Float64Array.from({ length: 90 }, () => 50 * g.uniform());
    const p = new Float64Array(90);
    for (const perplexity of [5, 30]) {
      conditionalRow(d, p, perplexity);
      const entropy = -p.reduce((s, v) => s + (v > 0 ? v * Math.log(v) : 0), 0);
      expect(Math.exp(entropy)).toBeCloseTo(perplexity, 3);
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
  });

  it('exact: keeps 3 separated clusters apart (trustworthiness ≥ 0.9, kNN labels agree) and lowers KL', () => {
    const { codes, labels } = clusters(3, 30, 10, 1);
    const r = viz.tsne(codes, { perplexity: 10, method: 'exact' });
    expect(r.method).toBe('exact');
    const embedded = rowsOf(r.embedding);
    expect(trustworthiness(rowsOf(codes), embedded, 5)).toBeGreaterThanOrEqual(0.9);
    expect(knnAgreement(embedded, labels, 5)).toBeGreaterThanOrEqual(0.98);
    const after = r.klHistory.filter((h) => h.iteration > 250);
    expect(after.at(-1)!.kl).toBeLessThan(r.klHistory[0].kl);
    expect(after.at(-1)!.kl).toBeLessThanOrEqual(after[0].kl + 1e-9);
    expect(r.kl).toBeGreaterThan(0);
  });

  it('Barnes-Hut: 5 clusters of 120 stay apart; KL falls through the run and after the exaggeration', () => {
    const { codes, labels } = clusters(5, 120, 20, 2);
    const r = viz.tsne(codes, { method: 'barnes-hut', iterations: 450 });
    expect(r.method).toBe('barnes-hut');
    expect(r.iterations).toBe(450);
    expect(knnAgreement(rowsOf(r.embedding), labels, 10)).toBeGreaterThanOrEqual(0.98);
    const kl = (iteration: number) => r.klHistory.find((h) => h.iteration === iteration)!.kl;
    expect(kl(250)).toBeLessThan(kl(50));
    expect(kl(450)).toBeLessThan(kl(300));
    expect(kl(450)).toBeLessThanOrEqual(kl(400) + 1e-6);
    expect(r.kl).toBeCloseTo(kl(450), 2);
  });

  it('quadtree repulsion equals the all-pairs sum at theta 0 and stays close at theta 0.5', () => {
    const g = new Generator(6);
    const n = 300;
    const y = Float64Array.from({ length: 2 * n }, () => 5 * g.normal());
    y[2] = y[0]; // an exact duplicate of point 0
    y[3] = y[1];
    const tree = new QuadTree();
    tree.build(y);
    const out = { fx: 0, fy: 0, z: 0 };
    for (const i of [0, 1, 7, 150]) {
      let [fx, fy, z] = [0, 0, 0];
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const [dx, dy] = [y[2 * i] - y[2 * j], y[2 * i + 1] - y[2 * j + 1]];
        const w = 1 / (1 + dx * dx + dy * dy);
        [fx, fy, z] = [fx + w * w * dx, fy + w * w * dy, z + w];
      }
      tree.repulsion(y[2 * i], y[2 * i + 1], 0, out);
      expectClose([out.fx, out.fy, out.z], [fx, fy, z], 1e-12, 1e-9, `point ${i}, theta 0`);
      tree.repulsion(y[2 * i], y[2 * i + 1], 0.5, out);
      expect(Math.abs(out.z - z) / z).toBeLessThan(0.02);
      expect(Math.hypot(out.fx - fx, out.fy - fy)).toBeLessThan(0.05 * Math.hypot(fx, fy) + 1e-6);
    }
  });

  it('is seeded: the same generator seed gives the same embedding with random init', () => {
    const { codes } = clusters(2, 20, 4, 3);
    const run = () => viz.tsne(codes, { perplexity: 5, iterations: 250, init: 'random', generator: new Generator(9) }).embedding.data;
    expect(run()).toEqual(run());
  });

  it('names what is wrong', () => {
    const { codes } = clusters(2, 10, 4, 3);
    expect(() => viz.tsne(codes, { perplexity: 20 })).toThrow(/tsne: perplexity must be in \[1, N\) = \[1, 20\) for 20 codes, got 20/);
    expect(() => viz.tsne(codes, { perplexity: 5, method: 'barnes-hut', dims: 3 })).toThrow(/Barnes-Hut method embeds in 2 dims only, got dims 3/);
    expect(() => viz.tsne(codes, { perplexity: 5, iterations: 100 })).toThrow(/iterations must be an integer ≥ 250/);
    expect(() => viz.tsne(tensor([[1, 2]]))).toThrow(/tsne: needs at least 3 codes/);
  });
});

describe('viz.scatterSvg / scatterPlot', () => {
  it('draws one dot per point and a legend entry per class; writes SVG and PNG', () => {
    const points = tensor([[0, 0], [1, 2], [3, 1], [2, 2]]);
    const svg = viz.scatterSvg(points, { labels: [0, 1, 1, 2], classNames: ['a', 'b', 'c'], title: 'codes' });
    expect(svg.match(/<circle [^>]*r="2.5"/g)).toHaveLength(4);
    expect(svg.match(/<circle [^>]*r="5"/g)).toHaveLength(3);
    const paths = viz.scatterPlot(join(dir, 'scatter'), points, { labels: [0, 1, 1, 2] });
    const png = k.data.readPng(paths.png);
    expect(png.shape[1]).toBeGreaterThan(500);
    expect(() => viz.scatterSvg(points, { labels: [0, 1] })).toThrow(/scatterSvg: labels must be 4 class indices/);
    const thumbs = viz.scatterSvg(tensor([[0, 0], [0.001, 0], [3, 1]]), { thumbnails: k.rand([3, 1, 8, 8]), thumbnailSize: 20 });
    expect(thumbs.match(/<image [^>]*href="data:image\/png;base64,/g)).toHaveLength(2); // the second point's cell is taken
    expect(k.data.readPng(viz.scatterPlot(join(dir, 'thumbs'), tensor([[0, 0], [3, 1]]), { thumbnails: k.rand([2, 3, 8, 8]) }).png).shape[0]).toBeGreaterThanOrEqual(3);
    expect(() => viz.scatterSvg(tensor([1, 2]))).toThrow(/scatterSvg: expects float points \(N, 2\)/);
  });
});
