/**
 * Sorting cases of suite `views` (issue 12; registered as `views-sorting` until the lead
 * folds them into bench/views.ts): `topk k=5 (1024, 32000)` along the last dim and `sort
 * (4096, 1024)` along the last dim, float32 values + int32 indices. kiln-native at 1 thread
 * and at its default thread count, PyTorch 1.13 at 1 and 2 threads (bench/anchors/
 * torch_sorting.py), in alternating passes. Target: ≥ 1.0× PyTorch's best.
 */
import { getNumThreads, randn, setNumThreads, sort, topk, withBackend, type Tensor } from '../lib/index.js';
import { medianOverPasses, runPythonAnchor, timeIt, type BenchRow } from './harness.js';

const SUITE = 'views';

const CASES: Record<string, { shape: number[]; run: (x: Tensor) => unknown }> = {
  'topk k=5 (1024, 32000)': { shape: [1024, 32000], run: (x) => topk(x, 5) },
  'sort (4096, 1024)': { shape: [4096, 1024], run: (x) => sort(x, -1) },
};

function kilnRows(threads: number): BenchRow[] {
  const saved = getNumThreads();
  setNumThreads(threads);
  try {
    return withBackend('native', () =>
      Object.entries(CASES).map(([name, c]) => {
        const x = randn(c.shape);
        return { suite: SUITE, case: name, impl: 'kiln-native', threads, median_ms: timeIt(() => c.run(x)) };
      }),
    );
  } finally {
    setNumThreads(saved);
  }
}

/** Alternating passes (kiln, PyTorch, kiln, …): this VM's CPU share drifts within seconds. */
const PASSES = 3;

function onePass(): BenchRow[] {
  const all = withBackend('native', () => getNumThreads());
  return [
    ...kilnRows(1),
    ...(all > 1 ? kilnRows(all) : []),
    ...runPythonAnchor('torch_sorting.py', ['1', '2'], { suite: SUITE, impl: 'pytorch', cases: Object.keys(CASES) }),
  ];
}

/** The sorting rows of suite `views`: each row's median over PASSES alternating passes. */
export function runViewsSorting(): BenchRow[] {
  return medianOverPasses(PASSES, onePass);
}
