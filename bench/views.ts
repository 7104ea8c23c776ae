/**
 * Suite `views`: ops on strided views against PyTorch 1.13 in the same run, at 1 and 2
 * threads (the ratio is taken to PyTorch's best). Each case is one entry of VIEW_CASES: its
 * inputs' shapes and the op on them; bench/anchors/torch_views.py runs the same case, looked
 * up by its key, so adding a case means one entry here and one function there.
 * kiln runs each call in tidy() (as a training step does); all rows are the median of three
 * alternating passes of kiln and PyTorch (the elementwise case is memory-bound, and this VM's
 * bandwidth drifts). KILN_BENCH_CASES=key,key narrows a run to some cases.
 */
import { getNumThreads, randn, setNumThreads, tidy, withBackend, type Tensor } from '../lib/index.js';
import { medianOverPasses, runPythonAnchor, timeIt, type BenchRow } from './harness.js';

const SUITE = 'views';
const THREADS = [1, 2];

/** One benchmark case: float32 inputs of `shapes` (randn), and `run`, the op timed on them. */
export interface ViewCase {
  /** The ASCII key the anchor looks the case up by (and KILN_BENCH_CASES lists). */
  key: string;
  /** The name printed in the table. */
  name: string;
  shapes: number[][];
  run: (...inputs: Tensor[]) => Tensor;
}

/** The cases; the anchor implements each key the same way. */
export const VIEW_CASES: ViewCase[] = [
  {
    key: 'matmul_tA',
    name: 'matmul(a.transpose(-1,-2), b) (32,128,256)ᵀ·(32,128,256)',
    shapes: [
      [32, 128, 256],
      [32, 128, 256],
    ],
    run: (a, b) => a.transpose(-1, -2).matmul(b),
  },
  {
    key: 'attention_scores',
    name: 'q.permute(0,2,1,3)·k.permute(0,2,3,1) (8,128,8,64)',
    shapes: [
      [8, 128, 8, 64],
      [8, 128, 8, 64],
    ],
    run: (q, k) => q.permute([0, 2, 1, 3]).matmul(k.permute([0, 2, 3, 1])),
  },
  {
    key: 'add_transposed',
    name: 'x.transpose(0,1).add(y) 4096×4096',
    shapes: [
      [4096, 4096],
      [4096, 4096],
    ],
    run: (x, y) => x.transpose(0, 1).add(y),
  },
];

function selectedCases(): ViewCase[] {
  const wanted = process.env.KILN_BENCH_CASES;
  if (wanted === undefined || wanted === '') return VIEW_CASES;
  const keys = wanted.split(',').map((key) => key.trim());
  const unknown = keys.filter((key) => !VIEW_CASES.some((c) => c.key === key));
  if (unknown.length > 0) throw new Error(`KILN_BENCH_CASES: no views case ${unknown.join(', ')}; cases are ${VIEW_CASES.map((c) => c.key).join(', ')}`);
  return VIEW_CASES.filter((c) => keys.includes(c.key));
}

function kilnRows(cases: ViewCase[]): BenchRow[] {
  const rows: BenchRow[] = [];
  const saved = getNumThreads();
  withBackend('native', () => {
    for (const threads of THREADS) {
      setNumThreads(threads);
      for (const c of cases) {
        const inputs = c.shapes.map((s) => randn(s));
        const ms = timeIt(() => tidy(() => void c.run(...inputs)), { rounds: 5, minRoundMs: 100 });
        rows.push({ suite: SUITE, case: c.name, impl: 'kiln-native', threads, median_ms: ms });
      }
    }
  });
  setNumThreads(saved);
  return rows;
}

function anchorRows(cases: ViewCase[]): BenchRow[] {
  const spec = JSON.stringify(cases.map((c) => ({ key: c.key, name: c.name, shapes: c.shapes })));
  return THREADS.flatMap((threads) =>
    runPythonAnchor('torch_views.py', [String(threads), spec], { suite: SUITE, impl: 'pytorch', cases: cases.map((c) => c.name) }),
  );
}

/** Runs the suite: three alternating passes of kiln (native, 1 and 2 threads) and PyTorch (1 and 2 threads). */
export function runViews(): BenchRow[] {
  const cases = selectedCases();
  return medianOverPasses(3, () => [...kilnRows(cases), ...anchorRows(cases)]);
}
