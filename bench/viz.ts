/**
 * Suite `viz`: Grad-CAM (at the second conv) plus guided backprop for LeNet-5 on 28×28 inputs
 * (the zoo's ResNet-18 has not landed), batch 1 and 16, kiln-native against PyTorch 1.13 doing
 * the same with hooks (bench/anchors/torch_viz.py), at 1 and 2 threads. Target (issue 15):
 * kiln ≥ 1.5× PyTorch. All rows are the median of three alternating passes.
 */
import { getNumThreads, models, manualSeed, randn, setNumThreads, tidy, viz, withBackend } from '../lib/index.js';
import { medianOverPasses, runPythonAnchor, timeIt, type BenchRow } from './harness.js';

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

/** Runs the suite: three alternating passes of kiln (native) and PyTorch, 1 and 2 threads. */
export function runViz(): BenchRow[] {
  return medianOverPasses(3, () => [...kilnRows(), ...anchorRows()]);
}
