/**
 * The t-SNE case of suite `viz`: Barnes-Hut t-SNE of 5,000 × 64 codes (a seeded mixture of 10
 * anisotropic Gaussian clusters standing in for a CNN layer's codes), 1000 iterations,
 * perplexity 30, PCA initialisation, kiln-native against scikit-learn's Barnes-Hut at the same
 * settings (bench/anchors/sklearn_tsne.py; skipped when python3-sklearn is absent). Each row
 * carries the final KL divergence and the iterations run. Target (issue 15): within 2× of
 * scikit-learn's time at comparable KL. One timed fit per implementation and pass.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, getNumThreads, setNumThreads, Tensor, viz, withBackend } from '../lib/index.js';
import { runPythonAnchor, type BenchRow } from './harness.js';

export const TSNE_CASE = 't-SNE of 5,000 × 64 codes (Barnes-Hut, 1000 iterations)';
const [N, D, ITERATIONS, THREADS] = [5000, 64, 1000, 2];

/** N codes (N, D): 10 clusters with random centres (std 4) and per-dimension noise scales in [0.5, 1.5]. */
function mixture(): Float32Array {
  const g = new Generator(15);
  const centres = Array.from({ length: 10 }, () => Array.from({ length: D }, () => 4 * g.normal()));
  const scales = Array.from({ length: D }, () => 0.5 + g.uniform());
  const codes = new Float32Array(N * D);
  for (let i = 0; i < N; i++) for (let d = 0; d < D; d++) codes[i * D + d] = centres[i % 10][d] + scales[d] * g.normal();
  return codes;
}

function kilnRow(codes: Float32Array): BenchRow {
  const saved = getNumThreads();
  setNumThreads(THREADS);
  try {
    return withBackend('native', () => {
      const start = performance.now();
      const result = viz.tsne(new Tensor(codes, [N, D], 'float32'), { iterations: ITERATIONS, method: 'barnes-hut' });
      const ms = performance.now() - start;
      return { suite: 'viz', case: TSNE_CASE, impl: 'kiln-native', threads: THREADS, median_ms: ms, kl_divergence: result.kl, iterations: result.iterations };
    });
  } finally {
    setNumThreads(saved);
  }
}

/** One pass: kiln, then scikit-learn on the same codes (written to a temporary raw float32 file). */
export function tsneRows(): BenchRow[] {
  const codes = mixture();
  const path = join(tmpdir(), `kiln-tsne-codes-${process.pid}.f32`);
  writeFileSync(path, codes);
  try {
    const kiln = kilnRow(codes);
    const anchor = runPythonAnchor('sklearn_tsne.py', [String(THREADS), path, String(N), String(D), String(ITERATIONS), TSNE_CASE], {
      suite: 'viz',
      impl: 'sklearn',
      cases: [TSNE_CASE],
    });
    return [kiln, ...anchor];
  } finally {
    rmSync(path, { force: true });
  }
}
