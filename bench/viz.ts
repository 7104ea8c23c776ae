/**
 * Suite `viz`: Grad-CAM (at the second conv) plus guided backprop for LeNet-5 on 28×28 inputs
 * (the zoo's ResNet-18 has not landed), batch 1 and 16, kiln-native against PyTorch 1.13 doing
 * the same with hooks (bench/anchors/torch_viz.py), at 1 and 2 threads. Target (issue 15):
 * kiln ≥ 1.5× PyTorch. All rows are the median of three alternating passes. Then the t-SNE
 * case (bench/tsne.ts) against scikit-learn, whose rows carry the KL divergence.
 * KILN_BENCH_CASES narrows a run to the cases whose names contain one of its comma-separated
 * words (case-insensitive), e.g. `KILN_BENCH_CASES=t-sne npm run bench -- viz`.
 */
import { getNumThreads, models, manualSeed, randn, setNumThreads, tidy, viz, withBackend } from '../lib/index.js';
import { medianOverPasses, runPythonAnchor, timeIt, type BenchRow } from './harness.js';
import { TSNE_CASE, tsneRows } from './tsne.js';

const SUITE = 'viz';
const THREADS = [1, 2];
const BATCHES = [1, 16];
const caseName = (batch: number) => `Grad-CAM + guided backprop, LeNet-5 28×28, batch ${batch}`;

function kilnRows(): BenchRow[] {
  const rows: BenchRow[] = [];
  const saved = getNumThreads();
  withBackend('native', () => {
    manualSeed(0);
    const net = models.lenet5().eval();
    for (const threads of THREADS) {
      setNumThreads(threads);
      for (const batch of BATCHES) {
        const x = randn([batch, 1, 28, 28]);
        const ms = timeIt(() => tidy(() => void [viz.gradCam(net, x, '3'), viz.guidedBackprop(net, x)]), { rounds: 5, minRoundMs: 100 });
        rows.push({ suite: SUITE, case: caseName(batch), impl: 'kiln-native', threads, median_ms: ms });
      }
    }
  });
  setNumThreads(saved);
  return rows;
}

function anchorRows(): BenchRow[] {
  return THREADS.flatMap((threads) =>
    runPythonAnchor('torch_viz.py', [String(threads), JSON.stringify(BATCHES.map((b) => ({ batch: b, name: caseName(b) })))], {
      suite: SUITE,
      impl: 'pytorch',
      cases: BATCHES.map(caseName),
    }),
  );
}

/** True when the case is selected by KILN_BENCH_CASES (or no selection is made). */
function wanted(name: string): boolean {
  const words = (process.env.KILN_BENCH_CASES ?? '').split(',').map((w) => w.trim().toLowerCase()).filter((w) => w !== '');
  return words.length === 0 || words.some((w) => name.toLowerCase().includes(w));
}

/**
 * Runs the suite: three alternating passes of kiln (native) and PyTorch, 1 and 2 threads, for
 * Grad-CAM + guided backprop; then three alternating passes of the t-SNE case.
 */
export function runViz(): BenchRow[] {
  const rows = BATCHES.some((b) => wanted(caseName(b))) ? medianOverPasses(3, () => [...kilnRows(), ...anchorRows()]) : [];
  return wanted(TSNE_CASE) ? [...rows, ...medianOverPasses(3, tsneRows)] : rows;
}
